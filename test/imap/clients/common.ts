// Shared pieces of the real-client IMAP tests: sample messages (plain, multipart, 8-bit and
// UTF-8 headers), seeding through the store, locating client binaries, and running them.
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import argon2 from 'argon2';
import { parseMessage } from '../../../src/mime/index.js';
import type { Account, Store } from '../../../src/store/types.js';
import type { RunningSystem } from '../../../src/app/start.js';

let cheapHash: Promise<string> | null = null;
/** Like addAccount() from test/helpers/system.ts (password "secret"), but the stored argon2id hash
 * uses tiny cost parameters: the server verifies whatever parameters a hash carries, and every
 * client below logs in many times, each new account costing a full Argon2 run otherwise. */
export async function addUser(system: RunningSystem, address: string, quota: { bytes?: number; messages?: number } = {}): Promise<Account> {
  const domain = address.split('@')[1]!;
  if (!(await system.store.getDomain(domain))) await system.store.addDomain(domain);
  cheapHash ??= argon2.hash('secret', { type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1 });
  return system.store.addAccount({ address, passwordHash: await cheapHash, quotaBytes: quota.bytes, quotaMessages: quota.messages });
}

/** Absolute path of an executable on PATH, or null when it is not installed. */
export function findBinary(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs a program without a shell; never rejects (the exit code tells). */
export function run(file: string, args: string[], opts: { env?: NodeJS.ProcessEnv; timeout?: number; input?: string; cwd?: string; uid?: number; gid?: number } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { env: { ...process.env, ...opts.env }, timeout: opts.timeout ?? 20_000, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, cwd: opts.cwd, uid: opts.uid, gid: opts.gid },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout, stderr: stderr.toString('utf8') + (err && code === -1 ? `\n[${err.message}]` : '') });
      },
    );
    child.stdin!.end(opts.input ?? '');
  });
}

/** Polls until fn returns a truthy value (or throws after timeout ms). */
export async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, timeout = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');

/** A plain ASCII message. */
export function plainMessage(n: number, to = 'user@fjord.test'): Buffer {
  return Buffer.from(
    crlf(`From: Sender ${n} <sender${n}@example.net>
To: ${to}
Subject: Plain message ${n}
Date: Mon, 6 Jan 2025 10:${String(10 + n).padStart(2, '0')}:00 +0100
Message-ID: <plain-${n}@example.net>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Hello number ${n}.
This line is here so the body has more than one line.
`),
    'utf8',
  );
}

/** multipart/alternative with an encoded-word subject and quoted-printable UTF-8 text. */
export function multipartMessage(n: number, to = 'user@fjord.test'): Buffer {
  return Buffer.from(
    crlf(`From: =?UTF-8?Q?J=C3=B8rgen_Fjord?= <jorgen@example.no>
To: ${to}
Subject: =?UTF-8?B?${Buffer.from(`Møte i morgen ${n} – agenda`).toString('base64')}?=
Date: Tue, 7 Jan 2025 08:30:0${n % 10} +0100
Message-ID: <multi-${n}@example.no>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="=_alt_${n}"

This is a multi-part message in MIME format.

--=_alt_${n}
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hei! M=C3=B8tet starter kl. 09:00 i rom =C3=86gir.

--=_alt_${n}
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<p>Hei! M=C3=B8tet starter kl. <b>09:00</b> i rom =C3=86gir.</p>

--=_alt_${n}--
`),
    'utf8',
  );
}

/** multipart/mixed with a base64 attachment. */
export function attachmentMessage(n: number, to = 'user@fjord.test'): Buffer {
  const data = Buffer.alloc(300);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + n) & 0xff;
  const b64 = data.toString('base64').replace(/.{76}/g, '$&\n');
  return Buffer.from(
    crlf(`From: Reports <reports@example.org>
To: ${to}
Subject: Report ${n} attached
Date: Wed, 8 Jan 2025 12:00:00 +0000
Message-ID: <attach-${n}@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed-${n}"

--mixed-${n}
Content-Type: text/plain; charset=us-ascii

See the attached report.

--mixed-${n}
Content-Type: application/octet-stream; name="report-${n}.bin"
Content-Disposition: attachment; filename="report-${n}.bin"
Content-Transfer-Encoding: base64

${b64}
--mixed-${n}--
`),
    'utf8',
  );
}

/** Raw 8-bit UTF-8 in the headers (RFC 6532) and an 8bit body. */
export function utf8HeaderMessage(n: number, to = 'user@fjord.test'): Buffer {
  return Buffer.from(
    crlf(`From: Åse Ødegård <åse@eksempel.no>
To: ${to}
Subject: Grüße aus Tromsø ${n} ✓
Date: Thu, 9 Jan 2025 16:45:00 +0100
Message-ID: <utf8-${n}@eksempel.no>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Blåbærsyltetøy og smørbrød — ${n}.
`),
    'utf8',
  );
}

/** Puts a message straight into a mailbox through the store (as delivery/APPEND would). */
export async function seed(store: Store, accountId: number, mailbox: string, raw: Buffer, flags: string[] = [], internalDate?: Date): Promise<number> {
  const mb = (await store.getMailbox(accountId, mailbox)) ?? (await store.createMailbox(accountId, mailbox));
  const r = await store.append(mb.id, { raw, parsed: parseMessage(raw), flags, ...(internalDate ? { internalDate } : {}) });
  return r.uid;
}

/** Every message of a mailbox: uid, flags and raw bytes. */
export async function mailboxContents(store: Store, accountId: number, mailbox: string): Promise<{ uid: number; flags: string[]; raw: Buffer }[]> {
  const mb = await store.getMailbox(accountId, mailbox);
  if (!mb) return [];
  const index = await store.listMessages(mb.id);
  const records = await store.getMessages(mb.id, index.map((m) => m.uid));
  const out = [];
  for (const r of records) out.push({ uid: r.uid, flags: [...r.flags].sort(), raw: await store.readBlob(r.blobId) });
  return out.sort((a, b) => a.uid - b.uid);
}
