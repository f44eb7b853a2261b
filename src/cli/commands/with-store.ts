// Admin commands open the same data folder as the server (SQLite WAL lets both work at once).
import fs from 'node:fs';
import type { Config } from '../../config/config.js';
import type { Store } from '../../store/types.js';
import { openStore } from '../../store/index.js';

export async function withStore<T>(config: Config, fn: (store: Store) => Promise<T>): Promise<T> {
  if (!fs.existsSync(config.dataDir)) fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = await openStore({ dataDir: config.dataDir, sweepAtOpen: false });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
