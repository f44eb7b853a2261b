#!/usr/bin/env node
// Thin launcher: the CLI is written in TypeScript and compiled to dist/ by `npm ci` (prepare) or `npm run build`.
// fsync-heavy work (spool, blobs) runs on libuv's thread pool; 4 threads (the default) leave the
// disk idle between fsyncs. Must be set before the pool is first used.
process.env.UV_THREADPOOL_SIZE ??= '16';
await import('../dist/src/cli/main.js');
