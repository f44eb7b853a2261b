// Sending limits and bulk freezing at their thresholds, through the real submission listener,
// plus complaints (ARF) arriving at the abuse address and the admin command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startTestSystem, addAccount, runCli, type TestSystem } from '../helpers/system.js';
import { waitForMessage } from '../helpers/mailbox.js';

async function system(sending: Record<string, unknown>): Promise<TestSystem> {
  const t = await startTestSystem({ sending });
  for (const a of ['alice@fjord.test', 'bob@fjord.test', 'postmaster@fjord.test', 'abuse@fjord.test']) await addAccount(t.system, a);
  return t;
}

function transport(t: TestSystem, user = 'alice@fjord.test') {
  return nodemailer.createTransport({ host: '127.0.0.1', port: t.submissionPort, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user, pass: 'secret' } });
}

type SmtpError = Error & { responseCode?: number; response?: string };

function refusedWith(code: number, text: RegExp) {
  return (e: SmtpError) => {
    assert.equal(e.responseCode, code, e.message);
    assert.match(e.response ?? '', text);
    return true;
  };
}

test('recipients per message: the limit passes, one more gets 451 4.7.1 naming the limit', async () => {
  const t = await system({ limits: { recipientsPerMessage: 3 } });
  try {
    const tr = transport(t);
    await tr.sendMail({ from: 'alice@fjord.test', to: ['a@remote.test', 'b@remote.test', 'c@remote.test'], subject: 'three', text: 'x' });
    // A mail program sends to the recipients that were accepted and reports the others.
    const info = await tr.sendMail({ from: 'alice@fjord.test', to: ['a@remote.test', 'b@remote.test', 'c@remote.test', 'd@remote.test'], subject: 'four', text: 'x' });
    assert.deepEqual(info.accepted, ['a@remote.test', 'b@remote.test', 'c@remote.test']);
    assert.deepEqual(info.rejected, ['d@remote.test']);
    const err = (info as unknown as { rejectedErrors: SmtpError[] }).rejectedErrors[0];
    refusedWith(451, /4\.7\.1 Sending limit reached: 3 recipients per message/)(err);
    tr.close();
  } finally {
    await t.stop();
  }
});

test('messages per hour: the limit passes, the next message gets 451 4.7.1 naming the limit; per-account override wins', async () => {
  const t = await system({ limits: { messagesPerHour: 2 }, accounts: { 'bob@fjord.test': { messagesPerHour: 5 } } });
  try {
    const tr = transport(t);
    for (let i = 0; i < 2; i++) await tr.sendMail({ from: 'alice@fjord.test', to: 'bob@fjord.test', subject: `m${i}`, text: 'x' });
    await assert.rejects(tr.sendMail({ from: 'alice@fjord.test', to: 'bob@fjord.test', subject: 'm2', text: 'x' }), refusedWith(451, /4\.7\.1 Sending limit reached: 2 messages per hour/));
    const bob = transport(t, 'bob@fjord.test');
    for (let i = 0; i < 5; i++) await bob.sendMail({ from: 'bob@fjord.test', to: 'alice@fjord.test', subject: `b${i}`, text: 'x' });
    await assert.rejects(bob.sendMail({ from: 'bob@fjord.test', to: 'alice@fjord.test', subject: 'b5', text: 'x' }), /5 messages per hour/);
    tr.close();
    bob.close();
  } finally {
    await t.stop();
  }
});

test('distinct recipients per day: writing again to the same people is fine, a new one past the limit is refused', async () => {
  const t = await system({ limits: { distinctRecipientsPerDay: 3 } });
  try {
    const tr = transport(t);
    await tr.sendMail({ from: 'alice@fjord.test', to: ['a@remote.test', 'b@remote.test'], subject: 'one', text: 'x' });
    await tr.sendMail({ from: 'alice@fjord.test', to: ['b@remote.test', 'c@remote.test'], subject: 'two', text: 'x' });
    await tr.sendMail({ from: 'alice@fjord.test', to: ['a@remote.test', 'c@remote.test'], subject: 'again', text: 'x' });
    await assert.rejects(tr.sendMail({ from: 'alice@fjord.test', to: ['d@remote.test'], subject: 'new', text: 'x' }), refusedWith(451, /3 distinct recipients per day/));
    tr.close();
  } finally {
    await t.stop();
  }
});

test('a bulk mailing freezes the account past the score threshold: reason stored and shown, postmaster told, --unfreeze lifts it', async () => {
  // One newsletter body with List-Unsubscribe to 30 new people scores 30 + 20 + 50 = 100.
  const t = await system({ freezeScore: 100, limits: { recipientsPerMessage: 100 } });
  try {
    const tr = transport(t);
    const to = Array.from({ length: 15 }, (_, i) => `reader${i}@remote.test`);
    const mail = (rcpts: string[]) => tr.sendMail({ from: 'alice@fjord.test', to: rcpts, subject: 'Our big sale', text: 'Everything must go! 50% off.', list: { unsubscribe: 'https://fjord.test/unsub' } });
    await mail(to); // 15 + 5 + (15 new < 20 recipients: not judged) = 20
    let status = await runCli(['account', 'sending', 'alice@fjord.test', '--data', t.dataDir]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /sending active/);
    assert.match(status.stdout, /bulk score 20 \(freezes at 100\)/);
    await mail(to.map((a) => a.replace('reader', 'second'))); // 30 + 20 + 50 = 100: frozen
    await assert.rejects(mail(['late@remote.test']), refusedWith(550, /5\.7\.1 Sending is frozen for alice@fjord\.test .*bulk score 100/));
    status = await runCli(['account', 'sending', 'alice@fjord.test', '--data', t.dataDir]);
    assert.match(status.stdout, /FROZEN since/);
    assert.match(status.stdout, /bulk-headers\s+30/);
    assert.match(status.stdout, /same-body\s+20/);
    assert.match(status.stdout, /new-recipients\s+50/);
    const notice = await waitForMessage(t.system, 'postmaster@fjord.test', 'Sending frozen for alice@fjord.test');
    assert.match(notice.raw, /fjord account sending alice@fjord\.test --unfreeze/);
    // Bob is not affected.
    await transport(t, 'bob@fjord.test').sendMail({ from: 'bob@fjord.test', to: 'alice@fjord.test', subject: 'still fine', text: 'x' });
    const lift = await runCli(['account', 'sending', 'alice@fjord.test', '--unfreeze', '--data', t.dataDir]);
    assert.equal(lift.code, 0, lift.stderr);
    assert.match(lift.stdout, /sending unfrozen/);
    assert.match(lift.stdout, /sending active/);
    await tr.sendMail({ from: 'alice@fjord.test', to: 'bob@fjord.test', subject: 'after unfreeze', text: 'x' });
    await waitForMessage(t.system, 'bob@fjord.test', 'after unfreeze');
    tr.close();
  } finally {
    await t.stop();
  }
});

test('ARF complaints to the abuse address count against the sending account and freeze it', async () => {
  const t = await system({ freezeScore: 50 });
  try {
    const tr = transport(t);
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const info = await tr.sendMail({ from: 'alice@fjord.test', to: `victim${i}@remote.test`, subject: `offer ${i}`, text: 'buy now', messageId: `<offer${i}@fjord.test>` });
      ids.push(info.messageId);
    }
    const { SmtpTalk } = await import('../helpers/smtp-client.js');
    for (const id of ids) {
      const report = [
        'From: <fbl@receiver.test>', 'To: <abuse@fjord.test>', 'Subject: FW: offer', 'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=feedback-report; boundary="b1"', '',
        '--b1', 'Content-Type: text/plain', '', 'This is an email abuse report.', '',
        '--b1', 'Content-Type: message/feedback-report', '', 'Feedback-Type: abuse', 'User-Agent: FBL/1.0', 'Version: 1', 'Original-Mail-From: <alice@fjord.test>', '',
        '--b1', 'Content-Type: text/rfc822-headers', '', 'From: alice@fjord.test', `Message-ID: ${id}`, 'Subject: offer', '',
        '--b1--', '',
      ].join('\r\n');
      const c = await SmtpTalk.connect(t.smtpPort);
      await c.read();
      await c.cmd('EHLO receiver.test');
      await c.cmd('MAIL FROM:<fbl@receiver.test>');
      assert.equal((await c.cmd('RCPT TO:<abuse@fjord.test>')).code, 250);
      assert.equal((await c.data(report)).code, 250);
      await c.quit();
    }
    await waitForMessage(t.system, 'postmaster@fjord.test', 'Sending frozen for alice@fjord.test');
    const status = await runCli(['account', 'sending', 'alice@fjord.test', '--json', '--data', t.dataDir]);
    const j = JSON.parse(status.stdout) as { state: string; counters: { window: { complaints: number } }; signals: { signal: string; points: number }[] };
    assert.equal(j.state, 'frozen');
    assert.equal(j.counters.window.complaints, 2);
    assert.deepEqual(j.signals.find((s) => s.signal === 'complaints'), { signal: 'complaints', points: 50, detail: '2 spam complaints (ARF) from receivers' });
    tr.close();
  } finally {
    await t.stop();
  }
});
