// Outbound delivery over real sockets: MX routing (preference, A fallback, null MX, IPv6),
// connection reuse, per-recipient 2xx/4xx/5xx, retries, and the DSNs that follow. Remote MTAs
// are Postfix's smtp-sink and smtp-server instances on loopback; DNS is a loopback server.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { loopbackDns } from '../../helpers/dns-server.js';
import { Sink, TestRemote, freeSharedPort, harness, message, parseDsn, waitFor } from './fixtures.js';

const t = loopbackDns();
let port: number;
before(async () => {
  port = await freeSharedPort();
});

const mx = (domain: string, host: string, ip: string, preference = 10) => {
  t.dns.add(domain, { type: 'MX', data: { preference, exchange: host } });
  t.dns.add(host, { type: ip.includes(':') ? 'AAAA' : 'A', data: ip });
};

test('delivers via MX to smtp-sink over one connection; messages arrive unchanged', async () => {
  mx('example.test', 'mx.example.test', '127.0.0.2');
  const sink = await Sink.start('127.0.0.2', port);
  const h = harness(t.resolver, port, {}, { start: false });
  try {
    const a = message('first');
    const b = message('second', 'Some 8-bit text: blåbærsyltetøy\r\n');
    const id1 = await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'bob@example.test' }, { address: 'carol@example.test' }], accountId: 1 }, a);
    const id2 = await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'dave@example.test' }], accountId: 1 }, b);
    h.sender.start();
    await h.sender.idle();
    // smtp-sink names its dump files randomly: find each transaction by its recipients
    const all = sink.messages();
    assert.equal(all.length, 2);
    const first = all.find((m) => m.rcpts.includes('bob@example.test'))!;
    const second = all.find((m) => m.rcpts.includes('dave@example.test'))!;
    assert.deepEqual(first.rcpts, ['bob@example.test', 'carol@example.test'], 'one transaction with both recipients');
    assert.equal(first.mailFrom, 'alice@fjord.test');
    assert.equal(first.helo, 'mx.fjord.test', 'EHLO with config.hostname');
    // smtp-sink stores LF line ends and undoes dot-stuffing: nothing else may differ
    assert.equal(first.body, a.toString('latin1').replace(/\r\n/g, '\n'));
    assert.equal(second.body, b.toString('latin1').replace(/\r\n/g, '\n'));
    await waitFor(() => sink.sessions() >= 1, 5000, 'session end');
    assert.equal(sink.sessions(), 1, 'both messages over one connection');
    assert.deepEqual(h.results.map((r) => [r.id, r.rcpt, r.status, r.accountId]).sort(), [
      [id1, 'bob@example.test', 'delivered', 1],
      [id1, 'carol@example.test', 'delivered', 1],
      [id2, 'dave@example.test', 'delivered', 1],
    ].sort());
    assert.match(h.results[0].reply, /^250 /);
    assert.equal(h.queue.list().length, 0, 'delivered messages leave the queue');
    assert.equal(h.dsns.length, 0);
  } finally {
    await sink.stop();
    await h.close();
  }
});

test('byte-exact over the wire; several messages and recipients share a connection, capped by messagesPerConnection', async () => {
  mx('multi.test', 'mx.multi.test', '127.0.0.3');
  const remote = await TestRemote.start('127.0.0.3', port);
  const h = harness(t.resolver, port, { messagesPerConnection: 2 }, { start: false });
  try {
    const bodies = [message('one'), message('two'), message('three', 'x'.repeat(3000) + '\r\n')];
    await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: ['a', 'b', 'c'].map((l) => ({ address: `${l}@multi.test` })), accountId: 1 }, bodies[0]);
    await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'd@multi.test' }], accountId: 1 }, bodies[1]);
    await h.queue.enqueue({ mailFrom: '', recipients: [{ address: 'e@multi.test' }], accountId: null }, bodies[2]);
    h.sender.start();
    await h.sender.idle();
    assert.equal(remote.received.length, 3);
    assert.deepEqual(remote.received[0].rcpts, ['a@multi.test', 'b@multi.test', 'c@multi.test']);
    for (let i = 0; i < 3; i++) assert.ok(remote.received[i].raw.equals(bodies[i]), `message ${i} byte for byte`);
    assert.equal(remote.received[2].mailFrom, '', 'null sender stays null');
    assert.equal(remote.connections, 2, 'three messages at two per connection');
  } finally {
    await remote.close();
    await h.close();
  }
});

test('per recipient: 250 delivered once, 4xx retried until delivered, 5xx failed with one DSN', async () => {
  mx('mixed.test', 'mx.mixed.test', '127.0.0.4');
  const remote = await TestRemote.start('127.0.0.4', port);
  let laterTries = 0;
  remote.rcpt = (a) => {
    if (a.startsWith('later@')) return ++laterTries === 1 ? { code: 451, text: '4.7.1 Greylisted, try again later' } : null;
    if (a.startsWith('nobody@')) return { code: 550, text: '5.1.1 <nobody@mixed.test>: Recipient address rejected: User unknown' };
    return null;
  };
  const h = harness(t.resolver, port);
  try {
    const body = message('mixed');
    const id = await h.queue.enqueue(
      { mailFrom: 'alice@fjord.test', recipients: [{ address: 'now@mixed.test' }, { address: 'later@mixed.test' }, { address: 'nobody@mixed.test', orcpt: 'rfc822;nobody@mixed.test' }], accountId: 7, envid: 'ENV-42' },
      body,
    );
    h.sender.kick();
    await h.sender.idle();
    const after1 = h.queue.show(id)!;
    const state = (a: string) => after1.recipients.find((r) => r.address === a)!;
    assert.equal(state('now@mixed.test').state, 'delivered');
    assert.equal(state('later@mixed.test').state, 'pending');
    assert.equal(state('later@mixed.test').attempts, 1);
    assert.match(state('later@mixed.test').lastReply!, /^451 4\.7\.1 /);
    assert.ok(state('later@mixed.test').nextAttemptAt!.getTime() > Date.now() - 100, 'retry scheduled');
    assert.equal(state('nobody@mixed.test').state, 'failed');

    await waitFor(() => h.results.some((r) => r.rcpt === 'later@mixed.test' && r.status === 'delivered'), 10_000, 'retry');
    await h.sender.idle();
    assert.deepEqual(remote.received.map((m) => m.rcpts), [['now@mixed.test'], ['later@mixed.test']], 'the delivered recipient is not sent again');
    assert.deepEqual(h.results.map((r) => `${r.rcpt} ${r.status}`), ['now@mixed.test delivered', 'later@mixed.test deferred', 'nobody@mixed.test failed', 'later@mixed.test delivered']);
    assert.ok(h.results.every((r) => r.accountId === 7 && r.id === id));

    assert.equal(h.dsns.length, 1, 'one DSN, for the failed recipient only');
    assert.equal(h.dsns[0].to, 'alice@fjord.test');
    const dsn = await parseDsn(h.dsns[0].raw);
    assert.equal(dsn.reportType, 'delivery-status');
    assert.match(dsn.headers.get('from')!, /MAILER-DAEMON@mx\.fjord\.test/);
    assert.equal(dsn.headers.get('auto-submitted'), 'auto-replied');
    assert.deepEqual(dsn.parts.map((p) => p.type), ['text/plain', 'message/delivery-status', 'message/rfc822']);
    assert.equal(dsn.perMessage.get('reporting-mta'), 'dns; mx.fjord.test');
    assert.equal(dsn.perMessage.get('original-envelope-id'), 'ENV-42');
    assert.ok(dsn.perMessage.get('arrival-date'));
    assert.equal(dsn.perRecipient.length, 1);
    const r = dsn.perRecipient[0];
    assert.equal(r.get('final-recipient'), 'rfc822; nobody@mixed.test');
    assert.equal(r.get('original-recipient'), 'rfc822; nobody@mixed.test');
    assert.equal(r.get('action'), 'failed');
    assert.equal(r.get('status'), '5.1.1');
    assert.equal(r.get('remote-mta'), 'dns; mx.mixed.test');
    assert.match(r.get('diagnostic-code')!, /^smtp; 550 5\.1\.1 .*User unknown/);
    assert.ok(r.get('last-attempt-date'));
    assert.ok(dsn.parts[2].body.equals(body), 'the original is attached unchanged');
    assert.equal(h.queue.list().length, 0);
  } finally {
    await remote.close();
    await h.close();
  }
});

test('5xx from smtp-sink: DSN only to local senders that asked for it; RET=HDRS attaches the header only', async () => {
  mx('bounce.test', 'mx.bounce.test', '127.0.0.2');
  const sink = await Sink.start('127.0.0.2', port, ['-f', 'RCPT', '-B', '550 5.1.1 Recipient address rejected: User unknown in virtual mailbox table']);
  const h = harness(t.resolver, port, {}, { start: false });
  try {
    const body = message('bounce');
    const full = await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'x@bounce.test' }, { address: 'y@bounce.test' }], accountId: 1 }, body);
    const hdrs = await h.queue.enqueue({ mailFrom: 'bert@fjord.test', recipients: [{ address: 'z@bounce.test' }], accountId: 2, ret: 'HDRS' }, body);
    await h.queue.enqueue({ mailFrom: 'carl@fjord.test', recipients: [{ address: 'n@bounce.test', notify: ['NEVER'] }], accountId: 3 }, body);
    await h.queue.enqueue({ mailFrom: 'someone@elsewhere.test', recipients: [{ address: 'w@bounce.test' }], accountId: null }, body);
    await h.queue.enqueue({ mailFrom: '', recipients: [{ address: 'v@bounce.test' }], accountId: null }, body);
    h.sender.start();
    await h.sender.idle();
    assert.equal(sink.messages().length, 0);
    assert.equal(h.results.length, 6);
    assert.ok(h.results.every((r) => r.status === 'failed' && /^550 5\.1\.1 /.test(r.reply)));
    assert.deepEqual(h.dsns.map((d) => d.to).sort(), ['alice@fjord.test', 'bert@fjord.test'], 'no DSN for NOTIFY=NEVER, a non-local or a null sender');
    const a = await parseDsn(h.dsns.find((d) => d.to === 'alice@fjord.test')!.raw);
    assert.deepEqual(a.perRecipient.map((r) => r.get('final-recipient')), ['rfc822; x@bounce.test', 'rfc822; y@bounce.test'], 'recipients failing together share one DSN');
    assert.match(a.perRecipient[0].get('diagnostic-code')!, /User unknown in virtual mailbox table/);
    assert.match(a.perMessage.get('x-fjord-queue-id')!, new RegExp(full));
    const b = await parseDsn(h.dsns.find((d) => d.to === 'bert@fjord.test')!.raw);
    assert.equal(b.parts[2].type, 'text/rfc822-headers');
    assert.ok(body.toString().startsWith(b.parts[2].body.toString()), 'headers only');
    assert.doesNotMatch(b.parts[2].body.toString(), /Hello Bob/);
    assert.match(b.perMessage.get('x-fjord-queue-id')!, new RegExp(hdrs));
    assert.equal(h.queue.list().length, 0);
  } finally {
    await sink.stop();
    await h.close();
  }
});

test('null MX: fails at once with 5.1.10, no connection, no retry', async () => {
  t.dns.add('nullmx.test', { type: 'MX', data: { preference: 0, exchange: '.' } }, { type: 'A', data: '127.0.0.3' });
  const remote = await TestRemote.start('127.0.0.3', port);
  const h = harness(t.resolver, port);
  try {
    await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'a@nullmx.test' }, { address: 'b@nullmx.test' }], accountId: 1 }, message('null'));
    h.sender.kick();
    await h.sender.idle();
    assert.equal(remote.connections, 0);
    assert.deepEqual(h.results.map((r) => r.status), ['failed', 'failed']);
    assert.equal(h.dsns.length, 1);
    const d = await parseDsn(h.dsns[0].raw);
    assert.equal(d.perRecipient.length, 2);
    for (const r of d.perRecipient) {
      assert.equal(r.get('action'), 'failed');
      assert.equal(r.get('status'), '5.1.10');
      assert.equal(r.get('remote-mta'), undefined);
      assert.match(r.get('diagnostic-code')!, /null MX/);
    }
    assert.equal(h.queue.list().length, 0);
  } finally {
    await remote.close();
    await h.close();
  }
});

test('no MX: the A record is the implicit MX; AAAA ::1 works; a dead MX falls through to the next', async () => {
  t.dns.add('aonly.test', { type: 'A', data: '127.0.0.3' });
  mx('v6.test', 'mx.v6.test', '::1');
  // preference 10 is dead (nothing listens on 127.0.0.2), 20 works
  mx('fallback.test', 'dead.fallback.test', '127.0.0.2', 10);
  mx('fallback.test', 'live.fallback.test', '127.0.0.4', 20);
  const v4 = await TestRemote.start('127.0.0.3', port);
  const v6 = await TestRemote.start('::1', port);
  const live = await TestRemote.start('127.0.0.4', port);
  const h = harness(t.resolver, port, {}, { start: false });
  try {
    await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'a@aonly.test' }, { address: 'b@v6.test' }, { address: 'c@fallback.test' }], accountId: 1 }, message('routes'));
    h.sender.start();
    await h.sender.idle();
    assert.deepEqual(h.results.map((r) => `${r.rcpt} ${r.status}`).sort(), ['a@aonly.test delivered', 'b@v6.test delivered', 'c@fallback.test delivered']);
    assert.deepEqual(v4.received.map((m) => m.rcpts), [['a@aonly.test']]);
    assert.deepEqual(v6.received.map((m) => m.rcpts), [['b@v6.test']]);
    assert.deepEqual(live.received.map((m) => m.rcpts), [['c@fallback.test']]);
  } finally {
    await Promise.all([v4.close(), v6.close(), live.close()]);
    await h.close();
  }
});

test('unreachable: one delay warning, then given up after giveUpAfter with a failure DSN', async () => {
  mx('down.test', 'mx.down.test', '127.0.0.2'); // nothing listens there
  const h = harness(t.resolver, port, { retrySchedule: [1], delayWarningAfter: 1, giveUpAfter: 3 });
  try {
    const id = await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'a@down.test' }, { address: 'b@down.test', notify: ['FAILURE'] }], accountId: 1 }, message('down'));
    h.sender.kick();
    await waitFor(() => h.results.some((r) => r.status === 'failed'), 15_000, 'give up');
    await h.sender.idle();
    assert.ok(h.results.filter((r) => r.status === 'deferred').length >= 4, 'retried on the schedule');
    const kinds = await Promise.all(h.dsns.map(async (d) => (await parseDsn(d.raw)).perRecipient.map((r) => `${r.get('final-recipient')} ${r.get('action')} ${r.get('status')}`)));
    assert.equal(h.dsns.length, 2, 'one delay warning, one failure report');
    assert.deepEqual(kinds[0], ['rfc822; a@down.test delayed 4.4.1'], 'NOTIFY=FAILURE gets no delay warning');
    const delayed = await parseDsn(h.dsns[0].raw);
    assert.ok(delayed.perRecipient[0].get('will-retry-until'));
    assert.match(delayed.headers.get('subject')!, /Delayed/);
    assert.deepEqual(kinds[1], ['rfc822; a@down.test failed 5.4.7', 'rfc822; b@down.test failed 5.4.7']);
    assert.equal(h.queue.show(id), null);
  } finally {
    await h.close();
  }
});

test('NOTIFY=SUCCESS gets a "relayed" report; a DSN whose local delivery fails is retried, sent once', async () => {
  mx('notify.test', 'mx.notify.test', '127.0.0.2');
  const remote = await TestRemote.start('127.0.0.2', port);
  let failures = 0;
  const h = harness(t.resolver, port, { retrySchedule: [1] }, {
    deliverLocal: async () => {
      if (failures++ === 0) throw new Error('store busy');
    },
  });
  try {
    await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 's@notify.test', notify: ['SUCCESS', 'FAILURE'] }, { address: 'q@notify.test' }], accountId: 1 }, message('notify'));
    h.sender.kick();
    await h.sender.idle();
    assert.equal(h.dsns.length, 0, 'first local delivery failed');
    assert.equal(h.queue.list().length, 1, 'the message waits for its DSN');
    await waitFor(() => h.dsns.length > 0, 10_000, 'DSN retry');
    await h.sender.idle();
    assert.equal(h.dsns.length, 1);
    assert.equal(failures, 2);
    const d = await parseDsn(h.dsns[0].raw);
    assert.equal(d.headers.get('subject'), 'Successful Mail Delivery Report');
    assert.deepEqual(d.perRecipient.map((r) => `${r.get('final-recipient')} ${r.get('action')} ${r.get('status')}`), ['rfc822; s@notify.test relayed 2.0.0']);
    assert.equal(h.queue.list().length, 0);
    assert.equal(remote.received.length, 1);
  } finally {
    await remote.close();
    await h.close();
  }
});

test('DSN requests go on to a remote that offers DSN, grouped per NOTIFY/ORCPT; success is then its to report', async () => {
  mx('dsn.test', 'mx.dsn.test', '127.0.0.2');
  const remote = await TestRemote.start('127.0.0.2', port, { dsn: true });
  const h = harness(t.resolver, port);
  try {
    await h.queue.enqueue({
      mailFrom: 'alice@fjord.test', ret: 'HDRS', envid: 'QQ+314', accountId: 1,
      recipients: [
        { address: 's@dsn.test', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;boss@old.example' },
        { address: 'p@dsn.test' },
        { address: 'q@dsn.test' },
      ],
    }, message('dsn relay'));
    h.sender.kick();
    await h.sender.idle();
    // The two recipients without requests share a transaction; the one with its own ORCPT does not.
    assert.equal(remote.received.length, 2);
    const byRcpt = new Map(remote.received.flatMap((r) => r.rcpts.map((a, i) => [a, { mail: r.dsn!.mail, rcpt: r.dsn!.rcpts[i] }] as const)));
    assert.deepEqual(byRcpt.get('s@dsn.test')!.mail, { ret: 'HDRS', envid: 'QQ+314' });
    assert.deepEqual(byRcpt.get('s@dsn.test')!.rcpt, { notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;boss@old.example' });
    assert.deepEqual(byRcpt.get('p@dsn.test')!.mail, { ret: 'HDRS', envid: 'QQ+314' });
    assert.equal(byRcpt.get('p@dsn.test')!.rcpt, null, 'no NOTIFY or ORCPT invented');
    assert.deepEqual(remote.received.find((r) => r.rcpts.includes('p@dsn.test'))!.rcpts.sort(), ['p@dsn.test', 'q@dsn.test']);
    // The remote now owes the success report: no "relayed" DSN from us.
    assert.equal(h.dsns.length, 0);
    assert.equal(h.queue.list().length, 0);
  } finally {
    await remote.close();
    await h.close();
  }
});

test('a 421 mid-transaction defers with that reply', async () => {
  mx('busy.test', 'mx.busy.test', '127.0.0.2');
  const sink = await Sink.start('127.0.0.2', port, ['-Q', 'RCPT']);
  const h = harness(t.resolver, port, { retrySchedule: [3600] });
  try {
    const id = await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'a@busy.test' }], accountId: 1 }, message('busy'));
    h.sender.kick();
    await h.sender.idle();
    assert.deepEqual(h.results.map((r) => r.status), ['deferred']);
    assert.match(h.results[0].reply, /^421 /);
    const r = h.queue.show(id)!.recipients[0];
    assert.equal(r.state, 'pending');
    assert.equal(r.attempts, 1);
    assert.equal(sink.messages().length, 0);
  } finally {
    await sink.stop();
    await h.close();
  }
});

test('stop() during a stalled transaction returns and leaves the recipient pending, untried', { timeout: 60_000 }, async () => {
  mx('stall.test', 'mx.stall.test', '127.0.0.2');
  const sink = await Sink.start('127.0.0.2', port, ['-w', '60']);
  const h = harness(t.resolver, port, { commandTimeout: 120_000, dataTimeout: 120_000 });
  try {
    const id = await h.queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: 'a@stall.test' }], accountId: 1 }, message('stall'));
    h.sender.kick();
    // the sink holds its answer to DATA for a minute: wait until our DATA is out
    await waitFor(() => (h.sender as unknown as { sessions: Set<unknown> }).sessions.size > 0, 5000, 'session open');
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await h.sender.stop();
    assert.ok(Date.now() - started < 15_000, 'bounded by the stop grace period');
    const r = h.queue.show(id)!.recipients[0];
    assert.equal(r.state, 'pending');
    assert.equal(r.attempts, 0, 'an interrupted attempt is not counted');
    assert.equal(h.results.length, 0);
  } finally {
    await sink.stop();
    await h.close();
  }
});

test('refused at the end of DATA: accepted recipients get that reply, refused ones keep their RCPT reply', async () => {
  mx('data.test', 'mx.data.test', '127.0.0.3');
  const remote = await TestRemote.start('127.0.0.3', port);
  remote.rcpt = (a) => (a.startsWith('no@') ? { code: 550, text: '5.1.1 No such user' } : null);
  remote.data = () => ({ code: 554, text: '5.7.1 Message rejected as spam' });
  const h = harness(t.resolver, port);
  try {
    await h.queue.enqueue({ mailFrom: '', recipients: [{ address: 'yes@data.test' }, { address: 'no@data.test' }], accountId: null }, message('data'));
    h.sender.kick();
    await h.sender.idle();
    const by = new Map(h.results.map((r) => [r.rcpt, r]));
    assert.equal(by.get('yes@data.test')!.status, 'failed');
    assert.match(by.get('yes@data.test')!.reply, /^554 .*spam/);
    assert.equal(by.get('no@data.test')!.status, 'failed');
    assert.match(by.get('no@data.test')!.reply, /^550 .*No such user/);
    assert.equal(h.dsns.length, 0, 'null sender: no DSN');
  } finally {
    await remote.close();
    await h.close();
  }
});
