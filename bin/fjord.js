#!/usr/bin/env node
// Thin launcher: the CLI is written in TypeScript and compiled to dist/ by `npm ci` (prepare) or `npm run build`.
import '../dist/src/cli/main.js';
