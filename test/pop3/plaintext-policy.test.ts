// Before TLS, USER/PASS and AUTH PLAIN are refused to clients that are not on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import { startTestSystem, addAccount } from '../helpers/system.js';

function externalAddress(): string | null {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

async function talk(port: number, host: string, lines: string[]): Promise<string> {
  const s = net.connect({ port, host });
  let out = '';
  s.setEncoding('latin1');
  s.on('data', (d: string) => (out += d));
  await new Promise((r) => s.once('connect', r));
  for (const l of lines) {
    await new Promise((r) => setTimeout(r, 100));
    s.write(l + '\r\n');
  }
  await new Promise((r) => setTimeout(r, 300));
  s.destroy();
  return out;
}

test('POP3 refuses plain-text login from a non-loopback client until STLS', async (t) => {
  const ext = externalAddress();
  if (!ext) return t.skip('this machine has no non-loopback IPv4 address');
  const sys = await startTestSystem({ listen: { pop3: `${ext}:0` } });
  try {
    await addAccount(sys.system, 'u@x.test');
    const out = await talk(sys.pop3Port, ext, ['CAPA', 'USER u@x.test', 'AUTH PLAIN AHVAeC50ZXN0AHNlY3JldA==', 'QUIT']);
    const capa = out.slice(out.indexOf('+OK Capability'), out.indexOf('\r\n.\r\n'));
    assert.match(capa, /STLS/);
    assert.doesNotMatch(capa, /\r\nUSER\r\n|SASL PLAIN/);
    assert.match(out, /-ERR \[AUTH\] Use STLS/);
    assert.doesNotMatch(out, /\+OK 0 messages/);
  } finally {
    await sys.stop();
  }
});
