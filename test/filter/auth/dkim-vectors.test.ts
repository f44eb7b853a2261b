// DKIM verification vectors (shared/conformance/dkim): dkimpy's modern vectors, mail-auth's
// signed messages (fixed clock), and Mail::DKIM's legacy corpus, each served by the loopback
// DNS server and verified through verifyDkim — the entry point authenticateMessage uses.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { TestDnsServer } from '../../helpers/dns-server.js';
import { createResolver } from '../../../src/dns/resolver.js';
import { boundedLookup } from '../../../src/filter/auth/dns.js';
import { verifyDkim, type DkimOptions, type DkimSignatureResult } from '../../../src/filter/auth/dkim.js';
import { conformanceFile, skipMessage, splitDnsAndMessage, toCrlf } from './helpers/conformance.js';
import { loadTxt } from './helpers/txt-zone.js';

let server: TestDnsServer;
before(async () => {
  server = await TestDnsServer.start();
});
after(async () => {
  await server?.close();
});

function lookup(): DkimOptions['lookup'] {
  return boundedLookup(createResolver(server.address, 100), { perLookupMs: 1000 });
}

const dkimpyDir = conformanceFile('dkim', 'dkimpy');
interface DkimpyVector {
  file: string;
  note: string;
  dns: Record<string, string>;
  signatures: number;
  'dkimpy_1.1.4_result_per_signature': string[];
}

describe('dkimpy vectors', { skip: dkimpyDir ? false : skipMessage('dkim/dkimpy') }, () => {
  const vectors: DkimpyVector[] = dkimpyDir ? JSON.parse(fs.readFileSync(path.join(dkimpyDir, 'vectors.json'), 'utf8')) : [];
  for (const v of vectors) {
    it(`${v.file}: ${v.note}`, async () => {
      loadTxt(server, Object.entries(v.dns));
      const raw = toCrlf(fs.readFileSync(path.join(dkimpyDir!, v.file)));
      const { signatures } = await verifyDkim(raw, { lookup: lookup() });
      assert.equal(signatures.length, v.signatures);
      v['dkimpy_1.1.4_result_per_signature'].forEach((want, i) => {
        const got = signatures[i];
        if (want === 'pass') assert.equal(got.result, 'pass', `signature ${i + 1} (${got.algorithm}): ${got.comment ?? ''}`);
        else assert.ok(['fail', 'permerror'].includes(got.result), `signature ${i + 1}: expected fail or permerror, got ${got.result}`);
      });
    });
  }
});

const mailAuthDir = conformanceFile('dkim', 'mail-auth');
const FIXED_CLOCK = new Date(1667843664 * 1000); // mail-auth's test time (README)

describe('mail-auth signed messages', { skip: mailAuthDir ? false : skipMessage('dkim/mail-auth') }, () => {
  const files = mailAuthDir ? fs.readdirSync(mailAuthDir).filter((f) => /^\d{3}\.txt$/.test(f)).sort() : [];
  it('has the 6 messages', () => assert.equal(files.length, 6));
  for (const f of files) {
    it(`${f}: the last signature passes at the fixed clock`, async () => {
      const { dns, message } = splitDnsAndMessage(fs.readFileSync(path.join(mailAuthDir!, f), 'latin1'));
      loadTxt(server, dns);
      const { signatures } = await verifyDkim(message, { lookup: lookup(), now: FIXED_CLOCK });
      assert.ok(signatures.length > 0);
      const last = signatures[signatures.length - 1];
      assert.equal(last.result, 'pass', `${last.domain}/${last.selector} ${last.algorithm}: ${last.comment ?? ''}`);
    });
  }
  it('005.txt: the x= expiry makes the signature fail at the real clock', async () => {
    const { dns, message } = splitDnsAndMessage(fs.readFileSync(path.join(mailAuthDir!, '005.txt'), 'latin1'));
    loadTxt(server, dns);
    const { signatures } = await verifyDkim(message, { lookup: lookup() });
    assert.equal(signatures[signatures.length - 1].result, 'permerror');
  });
});

const mailDkimDir = conformanceFile('dkim', 'mail-dkim');
interface CorpusEntry {
  file: string;
  expected_mail_dkim: 'pass' | 'fail' | 'invalid';
  comment: string;
  signatures: { a: string; v: string | null; d: string; s: string; dkimpy_minkey512: boolean | string }[];
}

/**
 * RFC 6376 dropped the key record's g= tag, so a verifier following it ignores g= and these
 * signatures verify (dkimpy agrees); Mail::DKIM, RFC 4871-era, calls them invalid.
 */
const RFC6376_IGNORES_G = new Set(['corpus/badkey_8.txt', 'corpus/badkey_9.txt', 'corpus/badkey_12.txt', 'corpus/badkey_13.txt']);
/** Keys that cannot be fetched or used: never a pass, whatever the signature's version. */
const UNUSABLE_KEY = new Map([
  ['corpus/badkey_1.txt', null], // NXDOMAIN
  ['corpus/badkey_2.txt', null], // revoked (p=)
  ['corpus/badkey_14.txt', 'temperror'], // DNS timeout
  ['corpus/badkey_15.txt', 'temperror'], // SERVFAIL
  ['corpus/badkey1_ed25519.txt', null],
  ['corpus/badkey4_ed25519.txt', null],
  ['corpus/badkey5_ed25519.txt', null],
]);

/** Mail::DKIM's message verdict: the best signature result. */
function verdict(sigs: DkimSignatureResult[]): 'pass' | 'fail' | 'invalid' | 'none' {
  if (!sigs.length) return 'none';
  if (sigs.some((s) => s.result === 'pass')) return 'pass';
  if (sigs.some((s) => s.result === 'fail')) return 'fail';
  return 'invalid';
}

function fakeDns(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const line of text.split('\n')) {
    if (/^\s*([#;]|$)/.test(line)) continue;
    const m = /^(\S+)\s+(.*)$/.exec(line.trim());
    if (m) out.push([m[1], m[2].trim()]);
  }
  return out;
}

describe('Mail::DKIM legacy corpus (legacy mode: rsa-sha1 and 512-bit keys allowed)', { skip: mailDkimDir ? false : skipMessage('dkim/mail-dkim') }, () => {
  const manifest: CorpusEntry[] = mailDkimDir ? JSON.parse(fs.readFileSync(path.join(mailDkimDir, 'manifest.json'), 'utf8')) : [];
  before(() => loadTxt(server, fakeDns(fs.readFileSync(path.join(mailDkimDir!, 'FAKE_DNS.dat'), 'utf8'))));
  it('has the 57 messages', () => assert.equal(manifest.length, 57));
  for (const entry of manifest) {
    const v1 = entry.signatures.every((s) => s.v === '1');
    it(`${entry.file} (${entry.comment || 'no comment'}; Mail::DKIM: ${entry.expected_mail_dkim}${v1 ? '' : '; pre-v=1, robustness only'})`, async () => {
      const raw = toCrlf(fs.readFileSync(path.join(mailDkimDir!, entry.file)));
      const { signatures } = await verifyDkim(raw, { lookup: lookup(), legacy: true, minBitLength: 512 });
      assert.equal(signatures.length, entry.signatures.length);
      const got = verdict(signatures);
      const detail = signatures.map((s) => `${s.result}${s.comment ? ` (${s.comment})` : ''}`).join(', ');
      if (UNUSABLE_KEY.has(entry.file)) {
        assert.notEqual(got, 'pass', detail);
        const want = UNUSABLE_KEY.get(entry.file);
        if (want) assert.equal(signatures[0].result, want, detail);
      }
      if (!v1) return;
      const want = RFC6376_IGNORES_G.has(entry.file) ? 'pass' : entry.expected_mail_dkim;
      assert.equal(got, want, detail);
    });
  }
});
