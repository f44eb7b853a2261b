// A submission for a local and a remote recipient when only the outbound queue's disk is full:
// the client gets 452 and the local recipient gets nothing yet, so the client's retry, once
// there is space, delivers exactly one copy to each, also across a restart in between. Needs root to mount a small tmpfs over the
// outbound queue's body folder (CI runs as root); skipped otherwise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import nodemailer from 'nodemailer';
import { startTestSystem, addAccount } from '../helpers/system.js';
import { mailboxMessages, waitForMessage } from '../helpers/mailbox.js';

test('outbound queue full: 452, no local copy; the retry delivers one copy each', { timeout: 60_000 }, async (t) => {
  let sys = await startTestSystem();
  const bodies = path.join(sys.dataDir, 'queue', 'outbound');
  let mounted = false;
  try {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', bodies], { stdio: 'ignore' });
      mounted = true;
    } catch {
      t.skip('cannot mount a tmpfs here (needs root)');
      return;
    }
    await addAccount(sys.system, 'alice@fjord.test');
    await addAccount(sys.system, 'bob@fjord.test');
    // Fill the outbound body folder so the next body cannot be written.
    const filler = path.join(bodies, 'filler');
    try {
      fs.writeFileSync(filler, Buffer.alloc(1024 * 1024 - 8 * 1024));
    } catch { /* full is what we want */ }
    let mail = nodemailer.createTransport({
      host: '127.0.0.1', port: sys.submissionPort, secure: false, requireTLS: true,
      tls: { rejectUnauthorized: false }, auth: { user: 'alice@fjord.test', pass: 'secret' },
    });
    const msg = { from: 'alice@fjord.test', to: ['bob@fjord.test', 'someone@remote.test'], subject: 'half full', text: 'x'.repeat(100_000) };
    await assert.rejects(mail.sendMail(msg), (e: { responseCode?: number; response?: string }) => e.responseCode === 452 && /4\.3\.1/.test(e.response ?? ''));
    assert.equal((await mailboxMessages(sys.system, 'bob@fjord.test')).length, 0, 'the local half was withdrawn');
    // A restart, which may find the withdrawn copy in the spool again (withdrawals are kept in
    // memory): it is still not delivered, since its remote half was never queued.
    mail.close();
    await sys.system.stop();
    sys = await startTestSystem({}, sys.dataDir);
    await sys.system.worker.idle();
    assert.equal((await mailboxMessages(sys.system, 'bob@fjord.test')).length, 0, 'not delivered after a restart either');
    // Space returns; the client sends again.
    fs.rmSync(filler);
    mail = nodemailer.createTransport({
      host: '127.0.0.1', port: sys.submissionPort, secure: false, requireTLS: true,
      tls: { rejectUnauthorized: false }, auth: { user: 'alice@fjord.test', pass: 'secret' },
    });
    await mail.sendMail(msg);
    await waitForMessage(sys.system, 'bob@fjord.test', 'half full');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await mailboxMessages(sys.system, 'bob@fjord.test')).filter((m) => m.subject === 'half full').length, 1, 'exactly one local copy');
    assert.equal(sys.system.outbound.list().length, 1, 'one queued copy for the remote recipient');
    mail.close();
  } finally {
    await sys.system.stop();
    if (mounted) execFileSync('umount', ['-l', bodies]);
    fs.rmSync(sys.dataDir, { recursive: true, force: true });
  }
});
