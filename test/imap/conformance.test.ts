// IMAP conformance suite: runs every script in test/imap/conformance/scripts against the real
// server (in-process system, loopback TCP, plus in-process "remote" connections for the
// non-loopback rules). Scripts are read from the source tree, not from dist. Expectations
// come from the RFCs; a failing case is either a server deviation or a feature still missing
// (SORT/THREAD), and the failure message names the script line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import net from 'node:net';
import { REPO_ROOT } from '../helpers/paths.js';
import { addAccount, startTestSystem, type TestSystem } from '../helpers/system.js';
import { silentLogger } from '../../src/log/logger.js';
import { loadTls } from '../../src/tls/certificate.js';
import { ImapServer } from '../../src/imap/server.js';
import { capabilities } from '../../src/imap/capabilities.js';
import { Session } from '../../src/imap/session.js';
import type { Config } from '../../src/config/config.js';
import { listScripts, parseScript, type ScriptFile } from './conformance/script.js';
import { CaseRun, CaseSkipped, type Env } from './conformance/runner.js';
import { pipePair } from './conformance/transport.js';

const SCRIPTS = path.join(REPO_ROOT, 'test', 'imap', 'conformance', 'scripts');
/** Settings every conformance system runs with (fast failed logins, deliveries in-process). */
const BASE_CONFIG = { imap: { authFailureDelay: 0 }, delivery: { threads: 0 } };

interface RunningEnv {
  env: Env;
  sys: TestSystem;
  stop(): Promise<void>;
}

function mergeConfig(extra: Record<string, unknown> | null): Record<string, unknown> {
  const out: Record<string, unknown> = { ...BASE_CONFIG };
  for (const [k, v] of Object.entries(extra ?? {})) {
    const base = out[k];
    out[k] = base && typeof base === 'object' && v && typeof v === 'object' ? { ...(base as object), ...(v as object) } : v;
  }
  return out;
}

/** An ImapServer sharing the system's store, on a private loopback listener whose accepted
 * sockets report a non-loopback peer address (198.51.100.7, TEST-NET-2) to the session. */
function remoteOpener(sys: TestSystem): { open: Env['openRemote']; close(): Promise<void> } {
  let imap: ImapServer | null = null;
  let listener: net.Server | null = null;
  let port = 0;
  return {
    open: async () => {
      if (!imap) {
        const server = new ImapServer({ config: sys.system.config, store: sys.system.store, tls: await loadTls(sys.system.config), logger: silentLogger() });
        imap = server;
        const l = net.createServer((socket) => {
          Object.defineProperty(socket, 'remoteAddress', { value: '198.51.100.7', configurable: true });
          // The path a TCP accept takes in ImapServer (greeting included).
          (server as unknown as { accept(s: net.Socket, implicitTls: boolean): void }).accept(socket, false);
        });
        listener = l;
        await new Promise<void>((resolve) => l.listen(0, '127.0.0.1', () => resolve()));
        port = (l.address() as net.AddressInfo).port;
      }
      const socket = net.connect({ port, host: '127.0.0.1' });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('error', reject);
      });
      socket.setNoDelay(true);
      return socket;
    },
    close: async () => {
      const l = listener;
      const closed = l ? new Promise<void>((r) => l.close(() => r())) : Promise.resolve();
      await imap?.close();
      await closed;
    },
  };
}

async function startEnv(config: Record<string, unknown> | null): Promise<RunningEnv> {
  const sys = await startTestSystem(mergeConfig(config));
  // Created once up front: cases run concurrently and each adds accounts in this domain.
  await sys.system.store.addDomain('conf.test');
  const remote = remoteOpener(sys);
  const env: Env = {
    store: sys.system.store,
    imapPort: sys.imapPort,
    appendLimit: sys.system.config.imap.appendLimit,
    openRemote: remote.open,
    addAccount: async (address, quota) => {
      await addAccount(sys.system, address, quota);
    },
  };
  return {
    env,
    sys,
    stop: async () => {
      await remote.close();
      await sys.stop();
    },
  };
}

interface Tally {
  file: string;
  cases: number;
  exchanges: number;
  passed: number;
  failed: string[];
  skipped: string[];
}

test('IMAP conformance scripts', { timeout: 120_000, concurrency: 6 }, async (t) => {
  // IMAP_CONFORMANCE=qresync runs only the scripts whose file name contains that text.
  const only = process.env.IMAP_CONFORMANCE;
  const files: ScriptFile[] = listScripts(SCRIPTS).filter((f) => !only || path.basename(f).includes(only)).map(parseScript);
  assert.ok(files.length > 0, `no scripts in ${SCRIPTS}`);
  const shared = await startEnv(null);
  const tallies: Tally[] = [];
  try {
    await Promise.all(
      files.map((file) =>
        t.test(`${file.name}${file.title ? ` — ${file.title}` : ''}`, async (ft) => {
          const own = file.config ? await startEnv(file.config) : null;
          const env = (own ?? shared).env;
          const tally: Tally = { file: file.name, cases: file.cases.length, exchanges: 0, passed: 0, failed: [], skipped: [] };
          tallies.push(tally);
          try {
            for (const c of file.cases) {
              tally.exchanges += c.exchanges;
              await ft.test(c.title, async (ct) => {
                try {
                  await new CaseRun(env, file, c).run();
                  tally.passed++;
                } catch (e) {
                  if (e instanceof CaseSkipped) {
                    tally.skipped.push(c.title);
                    ct.skip(e.message);
                    return;
                  }
                  tally.failed.push(c.title);
                  throw e;
                }
              });
            }
          } finally {
            await own?.stop();
          }
        }),
      ),
    );
  } finally {
    await shared.stop();
    tallies.sort((a, b) => (a.file < b.file ? -1 : 1));
    const sum = (f: (x: Tally) => number) => tallies.reduce((n, x) => n + f(x), 0);
    t.diagnostic(`scripts: ${tallies.length} files, ${sum((x) => x.cases)} cases, ${sum((x) => x.exchanges)} exchanges; ` +
      `passed ${sum((x) => x.passed)}, failed ${sum((x) => x.failed.length)}, skipped ${sum((x) => x.skipped.length)}`);
    for (const x of tallies) {
      t.diagnostic(`${x.file}: ${x.passed}/${x.cases} passed (${x.exchanges} exchanges)${x.failed.length ? `; FAILED: ${x.failed.join(' | ')}` : ''}${x.skipped.length ? `; skipped: ${x.skipped.join(' | ')}` : ''}`);
    }
  }
});

// LOGINDISABLED (RFC 9051 §6.2.3, §7.2.2; RFC 3501 §6.2.3): every TCP connection on this machine
// comes from loopback, where clear-text login is always allowed, so the rule is also checked
// here directly on the code that decides it. The "remote" scripts (logindisabled.txt) cover the
// whole exchange through an in-process connection with a non-loopback peer address.
test('LOGINDISABLED: capability and login policy for a non-loopback clear-text client', async () => {
  const sys = await startTestSystem(mergeConfig(null));
  try {
    const config: Config = sys.system.config;
    const mk = (remote: string, allow: boolean, implicitTls = false) => {
      const { server } = pipePair(remote);
      const ctx = {
        config: { ...config, imap: { ...config.imap, allowPlaintextAuth: allow } },
        store: sys.system.store,
        hub: { subscribe: () => () => {} },
        logger: silentLogger(),
        secureContext: null,
        junk: () => {},
      };
      const s = new Session(server as unknown as net.Socket, ctx as unknown as ConstructorParameters<typeof Session>[1], implicitTls, () => {});
      return { s, end: () => s.destroy() };
    };
    const cases: { remote: string; allow: boolean; tls: boolean; disabled: boolean }[] = [
      { remote: '198.51.100.7', allow: false, tls: false, disabled: true },
      { remote: '::ffff:198.51.100.7', allow: false, tls: false, disabled: true },
      { remote: '2001:db8::7', allow: false, tls: false, disabled: true },
      { remote: '198.51.100.7', allow: true, tls: false, disabled: false },
      { remote: '198.51.100.7', allow: false, tls: true, disabled: false },
      { remote: '127.0.0.1', allow: false, tls: false, disabled: false },
      { remote: '::1', allow: false, tls: false, disabled: false },
      { remote: '::ffff:127.0.0.1', allow: false, tls: false, disabled: false },
    ];
    for (const c of cases) {
      const { s, end } = mk(c.remote, c.allow, c.tls);
      try {
        const caps = capabilities(s);
        const label = JSON.stringify(c);
        assert.equal(s.plaintextAuthAllowed, !c.disabled, label);
        assert.equal(caps.includes('LOGINDISABLED'), c.disabled, `${label}: ${caps.join(' ')}`);
        // RFC 9051 §6.2.2/§7.2.2: no plain-text SASL mechanism is offered where login is disabled.
        assert.equal(caps.includes('AUTH=PLAIN'), !c.disabled, `${label}: ${caps.join(' ')}`);
        // STARTTLS is offered on clear-text connections (RFC 9051 §6.2.1).
        assert.equal(caps.includes('STARTTLS'), !c.tls, `${label}: ${caps.join(' ')}`);
        assert.ok(caps.includes('IMAP4rev1') && caps.includes('IMAP4rev2'), label);
      } finally {
        end();
      }
    }
  } finally {
    await sys.stop();
  }
});
