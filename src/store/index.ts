// Entry point of the mailbox store: `openStore({ dataDir })` opens (creating or upgrading) the
// embedded SQLite store at <dataDir>/fjord.db with blobs under <dataDir>/blobs.
import { SqliteStore, type SqliteStoreOptions } from './sqlite/store.js';
import type { Store } from './types.js';

export type OpenStoreOptions = SqliteStoreOptions;

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  return SqliteStore.open(opts);
}

export { SqliteStore };
export * from './types.js';
