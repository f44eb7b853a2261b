// End to end: messages signed with keys generated here, SPF/DKIM/DMARC records on the loopback
// DNS server, authenticateMessage through createResolver(server.address) as the MX calls it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { dkimSign } from 'mailauth';
import { TestDnsServer } from '../../helpers/dns-server.js';
import { createResolver } from '../../../src/dns/resolver.js';
import { authenticateMessage, startSpf, removeForgedResults, type AuthInput } from '../../../src/filter/auth/index.js';

const HOST = 'mx.fjord.test';
let server: TestDnsServer;

const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = crypto.generateKeyPairSync('ed25519');
const rsaPublic = rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const edPublic = ed.publicKey.export({ type: 'spki', format: 'der' }).subarray(12).toString('base64'); // raw 32 octets

function message(from: string, extraHeaders = ''): Buffer {
  return Buffer.from(
    `${extraHeaders}From: Alice <${from}>\r\nTo: bob@fjord.test\r\nSubject: quarterly figures\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <${crypto.randomUUID()}@example.com>\r\n\r\nHello Bob,\r\nthe figures are attached.\r\n`,
  );
}

async function sign(raw: Buffer, domain: string, selector: string, key: crypto.KeyObject, algorithm = 'rsa-sha256'): Promise<Buffer> {
  // mailauth 4.x signs what is listed in signatureData (the top-level fields are ignored).
  const data = { signingDomain: domain, selector, privateKey: key.export({ type: 'pkcs8', format: 'pem' }) as string, algorithm };
  const res = await dkimSign(raw, { ...data, signatureData: [data] });
  assert.deepEqual(res.errors, []);
  assert.match(res.signatures, /^DKIM-Signature:/);
  return Buffer.concat([Buffer.from(res.signatures), raw]);
}

function run(raw: Buffer, over: Partial<AuthInput> = {}) {
  return authenticateMessage({ raw, ip: '192.0.2.10', helo: 'mail.example.com', mailFrom: 'alice@example.com', hostname: HOST, resolver: createResolver(server.address, 200), ...over });
}

before(async () => {
  server = await TestDnsServer.start();
  server
    .add('example.com', { type: 'TXT', data: 'v=spf1 ip4:192.0.2.10 -all' })
    .add('mail.example.com', { type: 'TXT', data: 'v=spf1 a -all' }, { type: 'A', data: '192.0.2.10' })
    .add('sel._domainkey.example.com', { type: 'TXT', data: ['v=DKIM1; k=rsa; p=', rsaPublic] })
    .add('ed._domainkey.example.com', { type: 'TXT', data: `v=DKIM1; k=ed25519; p=${edPublic}` })
    .add('_dmarc.example.com', { type: 'TXT', data: 'v=DMARC1; p=reject; sp=quarantine' })
    .add('other.example', { type: 'TXT', data: 'v=spf1 ip4:198.51.100.0/24 -all' })
    .add('slow.example', { type: 'TXT', data: 'v=spf1 -all' })
    .misbehave('slow.example', 'timeout')
    .misbehave('_dmarc.slow.example', 'timeout');
});
after(async () => {
  await server?.close();
});

describe('authenticateMessage', () => {
  it('a signed message from an authorised host: spf, dkim, dmarc pass in the header', async () => {
    const v = await run(await sign(message('alice@example.com'), 'example.com', 'sel', rsa.privateKey));
    assert.equal(v.spf.mailFrom.result, 'pass');
    assert.equal(v.spf.helo.result, 'pass');
    assert.equal(v.dkim.length, 1);
    assert.equal(v.dkim[0].result, 'pass');
    assert.equal(v.dkim[0].aligned, true);
    assert.equal(v.dmarc.result, 'pass');
    assert.equal(v.dmarcReject, false);
    assert.match(v.header, /^Authentication-Results: mx\.fjord\.test;\r\n/);
    assert.match(v.header, /\bspf=pass\b.*smtp\.mailfrom=alice@example\.com/);
    assert.match(v.header, /\bdkim=pass\b.*header\.d=example\.com header\.s=sel header\.a=rsa-sha256/);
    assert.match(v.header, /\bdmarc=pass\b.*header\.from=example\.com/);
    assert.ok(v.header.endsWith('\r\n') && !/\n(?![ ])/.test(v.header.slice(0, -2)), 'folded with CRLF SP');
    const names = v.signals.map((s) => s.name);
    assert.ok(names.includes('DKIM_VALID_AU') && names.includes('SPF_PASS') && names.includes('DMARC_PASS'));
    assert.ok(v.signals.reduce((n, s) => n + s.score, 0) < 0);
  });

  it('ed25519-sha256 signatures verify (RFC 8463)', async () => {
    const v = await run(await sign(message('alice@example.com'), 'example.com', 'ed', ed.privateKey, 'ed25519-sha256'), { ip: '203.0.113.5' });
    assert.equal(v.spf.mailFrom.result, 'fail');
    assert.equal(v.dkim[0].algorithm, 'ed25519-sha256');
    assert.equal(v.dkim[0].result, 'pass');
    assert.equal(v.dmarc.result, 'pass', 'aligned DKIM alone passes DMARC');
  });

  it('a modified body fails DKIM', async () => {
    const signed = await sign(message('alice@example.com'), 'example.com', 'sel', rsa.privateKey);
    const v = await run(Buffer.from(signed.toString().replace('attached', 'ATTACHED')));
    assert.equal(v.dkim[0].result, 'fail');
    assert.match(v.header, /dkim=fail/);
  });

  it('p=reject and nothing aligned passes: dmarcReject, unless local policy says otherwise', async () => {
    const raw = message('alice@example.com');
    const v = await run(raw, { ip: '203.0.113.5', mailFrom: 'bounce@other.example', helo: 'unknown.example' });
    assert.equal(v.spf.mailFrom.result, 'fail');
    assert.equal(v.dmarc.result, 'fail');
    assert.equal(v.dmarc.policy, 'reject');
    assert.equal(v.dmarcReject, true);
    assert.match(v.header, /dmarc=fail \(p=reject sp=quarantine dis=reject\) header\.from=example\.com/);
    assert.ok(v.signals.some((s) => s.name === 'DMARC_FAIL_REJECT' && s.score > 0));
    const local = await run(raw, { ip: '203.0.113.5', mailFrom: 'bounce@other.example', options: { honorDmarcReject: false } });
    assert.equal(local.dmarcReject, false);
    assert.equal(local.dmarc.result, 'fail');
  });

  it('SPF passing for another domain does not align', async () => {
    const v = await run(message('alice@example.com'), { ip: '198.51.100.7', mailFrom: 'bounce@other.example' });
    assert.equal(v.spf.mailFrom.result, 'pass');
    assert.equal(v.dmarc.result, 'fail');
    assert.equal(v.dmarcReject, true);
  });

  it('pct=: outside the sample a reject policy becomes quarantine', async () => {
    server.set('_dmarc.example.com', [{ type: 'TXT', data: 'v=DMARC1; p=reject; pct=10' }]);
    try {
      const v = await run(message('alice@example.com'), { ip: '203.0.113.5', mailFrom: '', helo: 'unknown.example', options: { random: () => 0.5 } });
      assert.equal(v.dmarc.result, 'fail');
      assert.equal(v.dmarc.disposition, 'quarantine');
      assert.equal(v.dmarcReject, false);
      assert.equal(v.dmarcQuarantine, true);
    } finally {
      server.set('_dmarc.example.com', [{ type: 'TXT', data: 'v=DMARC1; p=reject; sp=quarantine' }]);
    }
  });

  it('a DNS timeout gives temperror within the bound, never a hang', async () => {
    const started = Date.now();
    const v = await run(message('carol@slow.example'), { mailFrom: 'carol@slow.example', options: { timeoutMs: 1500, perLookupMs: 1000 } });
    const took = Date.now() - started;
    assert.equal(v.spf.mailFrom.result, 'temperror');
    assert.equal(v.dmarc.result, 'temperror');
    assert.ok(took < 2500, `took ${took} ms`);
    assert.match(v.header, /spf=temperror/);
    assert.ok(v.signals.some((s) => s.name === 'AUTH_TEMPERROR'));
  });
});

describe('lookups started early', () => {
  it('DMARC records of the From domain are asked at once (beside SPF and DKIM), once each; SPF can come from MAIL FROM time', async () => {
    server.queries.length = 0;
    server.delayMs = 150;
    try {
      const raw = await sign(message('alice@example.com'), 'example.com', 'sel', rsa.privateKey);
      const spf = startSpf({ ip: '192.0.2.10', helo: 'mail.example.com', mailFrom: 'alice@example.com', hostname: HOST, resolver: createResolver(server.address, 2000) });
      const pending = run(raw, { spf, fromDomains: ['Example.COM'], resolver: createResolver(server.address, 2000) });
      // Well before any answer (150 ms) arrives, the DMARC record has been asked for.
      await new Promise((r) => setTimeout(r, 60));
      assert.ok(server.queries.includes('_dmarc.example.com TXT'), server.queries.join(', '));
      const v = await pending;
      assert.equal(v.spf.mailFrom.result, 'pass');
      assert.equal(v.dkim[0]?.result, 'pass');
      assert.equal(v.dmarc.result, 'pass');
      assert.equal(server.queries.filter((q) => q === '_dmarc.example.com TXT').length, 1, server.queries.join(', '));
    } finally {
      server.delayMs = 0;
    }
  });
});

describe('removeForgedResults', () => {
  it('removes fields with our authserv-id (any case, comments, quoting), keeps foreign ones byte-exact', () => {
    const head =
      'Received: from a by b; Tue, 1 Dec 2026 10:00:00 +0000\r\n' +
      'Authentication-Results: MX.Fjord.Test; spf=pass smtp.mailfrom=alice@example.com\r\n' +
      'Authentication-Results: (forged) mx.fjord.test (v1);\r\n dkim=pass header.d=example.com\r\n' +
      'authentication-results :  "mx.fjord.test"; dmarc=pass\r\n' +
      'Authentication-Results: mx.example.net;\r\n\tspf=fail smtp.mailfrom=x@mx.fjord.test\r\n' +
      'Authentication-Results: mx.fjord.test.evil; none\r\n' +
      'ARC-Authentication-Results: i=1; mx.fjord.test; spf=pass\r\n' +
      'Subject: hi\r\n\r\n';
    const body = 'Authentication-Results: mx.fjord.test; spf=pass\r\nbody line\r\n';
    const out = removeForgedResults(Buffer.from(head + body), HOST).toString();
    assert.equal(
      out,
      'Received: from a by b; Tue, 1 Dec 2026 10:00:00 +0000\r\n' +
        'Authentication-Results: mx.example.net;\r\n\tspf=fail smtp.mailfrom=x@mx.fjord.test\r\n' +
        'Authentication-Results: mx.fjord.test.evil; none\r\n' +
        'ARC-Authentication-Results: i=1; mx.fjord.test; spf=pass\r\n' +
        'Subject: hi\r\n\r\n' +
        body,
    );
  });

  it('returns the same buffer when there is nothing to remove', () => {
    const raw = Buffer.from('Subject: x\r\n\r\nAuthentication-Results: mx.fjord.test; none\r\n');
    assert.equal(removeForgedResults(raw, HOST), raw);
  });

  it('a forged header is gone from what authenticateMessage sees once removed', async () => {
    const forged = message('alice@example.com', 'Authentication-Results: mx.fjord.test; dmarc=pass header.from=example.com\r\n');
    const clean = removeForgedResults(forged, HOST);
    assert.ok(!clean.toString().includes('dmarc=pass'));
    const v = await run(clean, { ip: '203.0.113.5', mailFrom: 'bounce@other.example' });
    assert.equal(v.dmarc.result, 'fail');
  });
});
