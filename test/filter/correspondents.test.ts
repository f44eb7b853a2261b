// Which From addresses count as authenticated for what a user showed of a sender: real DKIM
// signatures and SPF records on a loopback DNS server, through authenticateMessage as the MX
// calls it. The forgeries are the ones a reviewer built: a second From field spelled "From :"
// that our parser and mailauth's could read differently, and an envelope domain under a shared
// public suffix (eu.org) posing as the From domain's sibling.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { dkimSign } from 'mailauth';
import { TestDnsServer } from '../helpers/dns-server.js';
import { createResolver } from '../../src/dns/resolver.js';
import { authenticateMessage, type AuthInput } from '../../src/filter/auth/index.js';
import { parseMessage } from '../../src/mime/index.js';
import { authenticatedFrom, senderSignals } from '../../src/filter/correspondents.js';

let dns: TestDnsServer;
const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const pub = rsa.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const IP = '192.0.2.66';

before(async () => {
  dns = await TestDnsServer.start();
  for (const d of ['friend.example', 'attacker.example']) dns.add(`sel._domainkey.${d}`, { type: 'TXT', data: ['v=DKIM1; k=rsa; p=', pub] });
  dns.add('bounces.friend.example', { type: 'TXT', data: `v=spf1 ip4:${IP} -all` })
    .add('attacker.eu.org', { type: 'TXT', data: `v=spf1 ip4:${IP} -all` })
    .add('attacker.example', { type: 'TXT', data: `v=spf1 ip4:${IP} -all` })
    .add('_dmarc.strict.example', { type: 'TXT', data: 'v=DMARC1; p=none; aspf=s' })
    .add('bounces.strict.example', { type: 'TXT', data: `v=spf1 ip4:${IP} -all` });
});

after(async () => {
  await dns.close();
});

const BODY = 'To: bob@fjord.test\r\nSubject: hi\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\nMessage-ID: <1@x.example>\r\n\r\nhello\r\n';

async function sign(raw: Buffer, domain: string): Promise<Buffer> {
  const data = { signingDomain: domain, selector: 'sel', privateKey: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, algorithm: 'rsa-sha256' };
  const res = await dkimSign(raw, { ...data, signatureData: [data] });
  return Buffer.concat([Buffer.from(res.signatures), raw]);
}

async function judge(raw: Buffer, mailFrom: string): Promise<string | null> {
  const input: AuthInput = { raw, ip: IP, helo: 'mail.example', mailFrom, hostname: 'mx.fjord.test', resolver: createResolver(dns.address, 500) };
  const parsed = parseMessage(raw);
  return authenticatedFrom(parsed.from.map((a) => a.address), await authenticateMessage({ ...input, fromDomains: parsed.from.map((a) => a.address.split('@')[1] ?? '') }));
}

test('authenticatedFrom: an aligned DKIM signature, or SPF for the same organisational domain', async () => {
  assert.equal(await judge(await sign(Buffer.from(`From: Friend <Friend@Friend.example>\r\n${BODY}`), 'friend.example'), 'x@elsewhere.example'), 'friend@friend.example');
  assert.equal(await judge(Buffer.from(`From: friend@friend.example\r\n${BODY}`), 'b@bounces.friend.example'), 'friend@friend.example', 'relaxed: a bounce subdomain');
  assert.equal(await judge(Buffer.from(`From: friend@friend.example\r\n${BODY}`), 'x@attacker.example'), null, 'SPF of another domain says nothing of the From');
  assert.equal(await judge(await sign(Buffer.from(`From: friend@friend.example\r\n${BODY}`), 'attacker.example'), 'x@nowhere.example'), null, 'a signature of another domain neither');
  assert.equal(await judge(Buffer.from(`From: friend@strict.example\r\n${BODY}`), 'b@bounces.strict.example'), null, 'the domain asks for strict SPF alignment (DMARC fails)');
  assert.equal(await judge(Buffer.from(`From: a@friend.example, b@friend.example\r\n${BODY}`), 'b@bounces.friend.example'), null, 'one author only');
});

test('authenticatedFrom: forgeries get nothing', async () => {
  // A second From field with white space before the colon, signed by the attacker: whichever
  // the parsers take, the message has two authors (DMARC permerror).
  const two = Buffer.from(`From : evil@attacker.example\r\nFrom: Friend <friend@friend.example>\r\n${BODY}`);
  assert.equal(await judge(await sign(two, 'attacker.example'), 'x@attacker.example'), null);
  // The same field first, where an mbox "From " separator would be: it is read as a field.
  const signed = await sign(two, 'attacker.example');
  const sigEnd = signed.indexOf('From : ');
  const reordered = Buffer.concat([Buffer.from('From : evil@attacker.example\r\n'), signed.subarray(0, sigEnd), signed.subarray(sigEnd + 'From : evil@attacker.example\r\n'.length)]);
  assert.deepEqual(parseMessage(reordered).from.map((a) => a.address), ['evil@attacker.example'], '"From :" is a field, not an mbox line');
  assert.equal(await judge(reordered, 'x@attacker.example'), null);
  // eu.org is a public suffix: attacker.eu.org is no sibling of friend.eu.org.
  assert.equal(await judge(Buffer.from(`From: friend@friend.eu.org\r\n${BODY}`), 'x@attacker.eu.org'), null);
});

test('senderSignals: the user\'s latest verdict on the sender wins, else having written to it', async () => {
  const scores = { knownSender: -3, junkedSender: 3 };
  const h = (wrote: boolean, said: 'spam' | 'ham' | null) => ({ wroteTo: async () => wrote, verdict: async () => said });
  const names = async (wrote: boolean, said: 'spam' | 'ham' | null, from: string | null = 'friend@pal.test', sc = scores) =>
    (await senderSignals(h(wrote, said), from, sc)).map((s) => `${s.name} ${s.score}`);
  assert.deepEqual(await names(true, null), ['KNOWN_CORRESPONDENT -3']);
  assert.deepEqual(await names(false, 'ham'), ['USER_RESCUED_SENDER -3']);
  assert.deepEqual(await names(true, 'spam'), ['USER_JUNKED_SENDER 3'], 'junking a correspondent\'s mail outweighs having written to it');
  assert.deepEqual(await names(false, null), []);
  assert.deepEqual(await names(true, 'ham', null), [], 'nothing for an unauthenticated sender');
  assert.deepEqual(await names(true, 'ham', 'friend@pal.test', { knownSender: 0, junkedSender: 0 }), [], 'off when the scores are 0');
});
