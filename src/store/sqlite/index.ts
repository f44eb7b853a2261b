export { SqliteStore, emailIdString, threadIdString, type SqliteStoreOptions } from './store.js';
export { MIGRATIONS, migrate, schemaVersion, type Migration } from './schema.js';
