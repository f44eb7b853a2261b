// ARC validation: ValiMail's suite (shared/conformance/arc/arc-draft-validation-tests.yml,
// 171 expectations) and mail-auth's 2 real chains, keys served by the loopback DNS server,
// through verifyArcMessage (the same DKIM pass + ARC check authenticateMessage runs).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { TestDnsServer } from '../../helpers/dns-server.js';
import { createResolver } from '../../../src/dns/resolver.js';
import { boundedLookup } from '../../../src/filter/auth/dns.js';
import { verifyArcMessage } from '../../../src/filter/auth/arc.js';
import { verifyDkim } from '../../../src/filter/auth/dkim.js';
import { conformanceFile, skipMessage, splitDnsAndMessage, toCrlf } from './helpers/conformance.js';
import { loadTxt } from './helpers/txt-zone.js';

let server: TestDnsServer;
before(async () => {
  server = await TestDnsServer.start();
});
after(async () => {
  await server?.close();
});

const lookup = () => boundedLookup(createResolver(server.address, 100), { perLookupMs: 1000 });

interface Scenario {
  description: string;
  tests: Record<string, { description?: string; message: string; cv: string }>;
  'txt-records'?: Record<string, string>;
}

const suite = conformanceFile('arc', 'arc-draft-validation-tests.yml');
const scenarios: Scenario[] = suite ? YAML.parseAllDocuments(fs.readFileSync(suite, 'utf8')).map((d) => d.toJS() as Scenario) : [];

describe('ValiMail ARC validation suite', { skip: suite ? false : skipMessage('arc/arc-draft-validation-tests.yml') }, () => {
  it('has 171 expectations', () => assert.equal(scenarios.reduce((n, s) => n + Object.keys(s.tests).length, 0), 171));
  for (const scenario of scenarios) {
    describe(scenario.description, () => {
      before(() => loadTxt(server, Object.entries(scenario['txt-records'] ?? {})));
      for (const [name, t] of Object.entries(scenario.tests)) {
        it(name, async () => {
          const got = await verifyArcMessage(toCrlf(t.message), { lookup: lookup() });
          const want = String(t.cv ?? '').trim().toLowerCase();
          // An empty cv: a seal already says cv=fail; RFC 8617 §5.2 calls that chain "fail".
          const accepted = want === '' ? ['fail'] : [want];
          assert.ok(accepted.includes(got.result), `${name}: expected ${accepted.join('/')}, got ${got.result} (${got.comment ?? ''})`);
        });
      }
    });
  }
});

const chains = conformanceFile('arc', 'mail-auth');

describe('mail-auth ARC chains', { skip: chains ? false : skipMessage('arc/mail-auth') }, () => {
  for (const f of ['001.txt', '002.txt']) {
    it(`${f}: ARC pass and at least one DKIM pass`, async () => {
      const { dns, message } = splitDnsAndMessage(fs.readFileSync(path.join(chains!, f), 'latin1'));
      loadTxt(server, dns);
      const got = await verifyArcMessage(message, { lookup: lookup() });
      assert.equal(got.result, 'pass', got.comment);
      const { signatures } = await verifyDkim(message, { lookup: lookup() });
      assert.ok(signatures.some((s) => s.result === 'pass'), signatures.map((s) => `${s.domain}: ${s.result} ${s.comment ?? ''}`).join('; '));
    });
  }
});
