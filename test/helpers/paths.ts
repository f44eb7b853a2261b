// Locations tests need: the repo root and the shared corpora beside it (never copied in).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';

function findRoot(start: string): string {
  let dir = start;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('repo root not found from ' + start);
    dir = up;
  }
  return dir;
}

export const REPO_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)));
export const SHARED = path.resolve(REPO_ROOT, '..', 'shared');
export const SPAM_CORPUS = path.join(SHARED, 'corpora', 'spamassassin');
export const MIME_CONFORMANCE = path.join(SHARED, 'conformance', 'mime');

/** Every .eml file under a directory, sorted, recursively. */
export function listEml(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.eml')) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}
