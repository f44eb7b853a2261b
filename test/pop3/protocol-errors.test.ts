// Bad input gets -ERR, never a crash or a hang; idle sessions are closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestSystem, addAccount } from '../helpers/system.js';

class Pop {
  private buf = '';
  private waiters: (() => void)[] = [];
  closed = false;
  constructor(readonly socket: net.Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => { this.buf += d; this.waiters.splice(0).forEach((w) => w()); });
    socket.on('close', () => { this.closed = true; this.waiters.splice(0).forEach((w) => w()); });
  }
  static async connect(port: number): Promise<Pop> {
    const s = net.connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    const p = new Pop(s);
    assert.match(await p.line(), /^\+OK/);
    return p;
  }
  async line(timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        return l;
      }
      if (this.closed) return '<closed>';
      if (Date.now() > deadline) throw new Error('timeout');
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 50); });
    }
  }
  async cmd(line: string): Promise<string> {
    this.socket.write(line + '\r\n');
    return this.line();
  }
}

test('POP3: wrong state, unknown and malformed commands get -ERR; the session goes on', async () => {
  const sys = await startTestSystem({ imap: { authFailureDelay: 10 } });
  try {
    await addAccount(sys.system, 'u@x.test');
    const p = await Pop.connect(sys.pop3Port);
    assert.match(await p.cmd('STAT'), /^-ERR/);
    assert.match(await p.cmd('FROB'), /^-ERR/);
    assert.match(await p.cmd('PASS x'), /^-ERR/); // PASS before USER
    assert.match(await p.cmd('X'.repeat(2000)), /^-ERR/); // over-long line, still complete
    assert.match(await p.cmd('USER u@x.test'), /^\+OK/);
    assert.match(await p.cmd('PASS wrong'), /^-ERR \[AUTH\]/);
    assert.match(await p.cmd('USER u@x.test'), /^\+OK/);
    assert.match(await p.cmd('PASS secret'), /^\+OK 0 messages/);
    assert.match(await p.cmd('RETR 1'), /^-ERR/);
    assert.match(await p.cmd('RETR x'), /^-ERR/);
    assert.match(await p.cmd('TOP 1'), /^-ERR/);
    assert.match(await p.cmd('LIST 99999999999999'), /^-ERR/);
    assert.match(await p.cmd('STAT'), /^\+OK 0 0$/);
    assert.match(await p.cmd('QUIT'), /^\+OK/);
    // A line that never ends is cut off.
    const q = await Pop.connect(sys.pop3Port);
    q.socket.write('A'.repeat(100_000));
    assert.match(await q.line(), /^-ERR/);
    assert.equal(await q.line(), '<closed>');
  } finally {
    await sys.stop();
  }
});

test('POP3: an idle session is closed after pop3.idleTimeout', async () => {
  const sys = await startTestSystem({ pop3: { idleTimeout: 300 } });
  try {
    const p = await Pop.connect(sys.pop3Port);
    const t = Date.now();
    assert.match(await p.line(3000), /^-ERR \[SYS\/TEMP\]/);
    assert.equal(await p.line(3000), '<closed>');
    assert.ok(Date.now() - t < 2500);
  } finally {
    await sys.stop();
  }
});
