// Typed access to the DKIM pieces inside mailauth (pinned at 4.13.3 in package.json): header
// parsing, header selection and relaxed canonicalisation, body hashing and signature-field
// formatting. Its public dkimSign() cannot oversign a header field (h= only lists fields the
// message has), so sign.ts assembles signatures from these parts — the ones dkimSign itself and
// mailauth's verifier use — instead of canonicalising by hand.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** One header field as mailauth parses it: lower-case name, name as written, raw bytes (folds kept). */
export interface HeaderField {
  key: string | null;
  casedKey: string | undefined;
  line: Buffer;
}

export interface SigningHeaderLines {
  /** The h= value. */
  keys: string;
  /** The fields that h= selects, in h= order. */
  headers: HeaderField[];
}

interface Tools {
  parseHeaders(header: Buffer): { parsed: HeaderField[]; original: Buffer };
  /** With verify=true: for each name of the list the next instance from the bottom (RFC 6376
   * §5.4.2); a name with no instance left selects nothing. */
  getSigningHeaderLines(parsed: HeaderField[], fieldNames: string, verify: boolean): SigningHeaderLines;
  formatSignatureHeaderLine(type: 'DKIM', values: Record<string, string | number>, folded: boolean): string;
}

interface BodyHasher {
  update(chunk: Buffer): void;
  digest(encoding: 'base64'): string;
}

interface Body {
  dkimBody(canonicalization: 'relaxed' | 'simple', hashAlgo: 'sha256', maxBodyLength: false): BodyHasher;
}

export interface CanonicalOptions {
  signingDomain: string;
  selector: string;
  algorithm: string;
  canonicalization: 'relaxed/relaxed';
  bodyHash: string;
  signTime: Date;
}

interface Header {
  generateCanonicalizedHeader(type: 'DKIM', lines: SigningHeaderLines, options: CanonicalOptions): {
    /** The bytes to sign: the selected fields and the DKIM-Signature field with an empty b=. */
    canonicalizedHeader: Buffer;
    /** The tags of the signature field (b= still to be added). */
    dkimHeaderOpts: Record<string, string | number>;
  };
}

export const tools = require('mailauth/lib/tools.js') as Tools;
export const body = require('mailauth/lib/dkim/body/index.js') as Body;
export const header = require('mailauth/lib/dkim/header/index.js') as Header;
