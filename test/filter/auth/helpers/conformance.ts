// Where the shared conformance data lives (../shared relative to the repo root), and a reader
// that tells the caller to skip when it is missing instead of failing.
import fs from 'node:fs';
import path from 'node:path';
import { SHARED } from '../../../helpers/paths.js';

export const conformanceDir = path.join(SHARED, 'conformance');

/** The absolute path of a conformance file, or null when it is not there (test skips). */
export function conformanceFile(...parts: string[]): string | null {
  const p = path.join(conformanceDir, ...parts);
  return fs.existsSync(p) ? p : null;
}

export function skipMessage(what: string): string {
  return `conformance data missing: ${path.join(conformanceDir, what)} (expected ../shared/conformance next to the repo)`;
}

/** "name value" lines, an empty line, then the message (mail-auth's format), LF → CRLF. */
export function splitDnsAndMessage(text: string): { dns: Map<string, string>; message: Buffer } {
  const cut = text.indexOf('\n\n');
  const dns = new Map<string, string>();
  for (const line of text.slice(0, cut).split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) dns.set(line.slice(0, sp), line.slice(sp + 1).trim());
  }
  return { dns, message: toCrlf(text.slice(cut + 2)) };
}

/** Normalises line ends to CRLF (the SMTP wire form a verifier sees). */
export function toCrlf(text: string | Buffer): Buffer {
  const s = Buffer.isBuffer(text) ? text.toString('latin1') : text;
  return Buffer.from(s.replace(/\r?\n/g, '\r\n'), Buffer.isBuffer(text) ? 'latin1' : 'utf8');
}
