// Dovecot (Debian's dovecot-imapd, 2.3) as a standalone instance for the benchmark: its own
// config, base_dir, state_dir and log in a temporary folder, listening on loopback only.
//
// Storage: Maildir by default (the most common setup), indexes beside the mail, mail_fsync =
// optimized (the default). Messages are written straight into <home>/Maildir/cur in Dovecot's
// own file-name form, owned by the mail user (nobody). sdbox or mdbox (Dovecot's own formats,
// faster under concurrent flag changes) on request: written as a Maildir, then `doveadm import`.
// Authentication: passwd-file with the very same argon2id hash Fjord stores, auth cache on (10
// minutes, as Fjord's login cache; Dovecot's still runs Argon2id on every LOGIN, Fjord's does not).
// Login processes in "high-performance mode" (service_count = 0, one per core), the setting
// Dovecot's documentation recommends for busy servers; one imap process per connection
// (Dovecot's model), limits raised for the number of clients.
// POP3 (Debian's dovecot-pop3d) on request (`start(n, { pop3: true })`): `protocols = imap pop3`,
// a pop3-login listener on a second loopback port, set up like imap-login; Dovecot's POP3
// defaults otherwise (RETR marks messages \Seen, written at QUIT).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { maildirFlags, type GeneratedMessage } from './messages.js';
import { freePort, spawnServerChild, waitForGreeting, type ImapTarget } from './target.js';
import { treeCpuSeconds, treePssKB, processTree } from './proc.js';

export function dovecotAvailable(): boolean {
  try {
    execFileSync('dovecot', ['--version'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** dovecot-pop3d installed (the pop3 and pop3-login binaries). */
export function dovecotPop3Available(): boolean {
  return fs.existsSync('/usr/lib/dovecot/pop3') && fs.existsSync('/usr/lib/dovecot/pop3-login');
}

export function dovecotVersion(): string {
  return execFileSync('dovecot', ['--version'], { encoding: 'utf8' }).trim();
}

function ids(user: string): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim()),
  };
}

/** The hash string of node's argon2 package (`$argon2id$v=19$m=..,p=..,t=..$salt$hash`) in the
 * parameter order libsodium's verifier parses (m, t, p). Same salt, same hash, same cost. */
export function dovecotArgon2(hash: string): string {
  const m = /^\$(argon2id|argon2i)\$v=(\d+)\$(.*?)\$(.*)$/.exec(hash);
  if (!m) throw new Error('not an argon2 hash: ' + hash.slice(0, 20));
  const p = Object.fromEntries(m[3]!.split(',').map((kv) => kv.split('=') as [string, string]));
  return `{${m[1]!.toUpperCase()}}$${m[1]}$v=${m[2]}$m=${p.m},t=${p.t},p=${p.p}$${m[4]}`;
}

export type DovecotFormat = 'maildir' | 'sdbox' | 'mdbox';

export class DovecotSetup {
  readonly dir: string;
  readonly mailUser = 'nobody';
  private readonly users: { address: string; hash: string }[] = [];
  /** Users whose Maildir still has to be imported into the dbox storage. */
  private toImport: string[] = [];
  /** Seconds `doveadm import` took per user (dbox formats only). */
  readonly importSeconds: Record<string, number> = {};

  /** maildir: messages are written straight into the Maildir. sdbox/mdbox: written into a
   * Maildir first, then imported with `doveadm import` once the server runs. */
  constructor(readonly format: DovecotFormat = 'maildir') {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fjord-bench-dovecot-'));
    fs.chmodSync(this.dir, 0o755);
    fs.mkdirSync(path.join(this.dir, 'home'), { mode: 0o755 });
  }

  addUser(address: string, argon2Hash: string): void {
    this.users.push({ address, hash: dovecotArgon2(argon2Hash) });
  }

  maildir(address: string): string {
    return path.join(this.dir, 'home', address, 'Maildir');
  }

  /** Writes messages into the user's Maildir (cur/, with flags and mtime = internal date). */
  writer(address: string): { add(m: GeneratedMessage): void; finish(): void } {
    const md = this.maildir(address);
    for (const d of ['cur', 'new', 'tmp']) fs.mkdirSync(path.join(md, d), { recursive: true });
    const cur = path.join(md, 'cur');
    const base = Math.floor(Date.now() / 1000);
    let n = 0;
    return {
      add: (m) => {
        n++;
        // Dovecot's own form: <secs>.M<usecs>P<pid>.<host>,S=<size>,W=<size with CRLF>:2,<flags>
        // (our bytes already have CRLF line ends, so both sizes are the file's size)
        const name = `${base + Math.floor(n / 1000)}.M${n % 1000}P${process.pid}.bench,S=${m.raw.length},W=${m.raw.length}${maildirFlags(m.flags)}`;
        const file = path.join(cur, name);
        fs.writeFileSync(file, m.raw);
        const t = m.internalDate.getTime() / 1000;
        fs.utimesSync(file, t, t);
      },
      finish: () => {
        const { uid, gid } = ids(this.mailUser);
        execFileSync('chown', ['-R', `${uid}:${gid}`, path.join(this.dir, 'home', address)]);
        if (this.format !== 'maildir') this.toImport.push(address);
      },
    };
  }

  private config(port: number, maxClients: number, pop3Port: number | null): string {
    const { uid, gid } = ids(this.mailUser);
    const d = this.dir;
    const limit = Math.max(1000, maxClients + 100);
    return `# generated by bench/imap/dovecot.ts
instance_name = fjord-bench-${port}
base_dir = ${d}/run
state_dir = ${d}/state
log_path = ${d}/dovecot.log
protocols = imap${pop3Port !== null ? ' pop3' : ''}
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
first_valid_gid = 1
mail_location = ${this.format === 'maildir' ? 'maildir:~/Maildir' : `${this.format}:~/${this.format}`}
mail_fsync = optimized
default_process_limit = ${limit}
default_client_limit = ${limit * 2}
default_vsz_limit = 1G

# an auth cache as Fjord has one (src/auth/login-cache.ts); Dovecot's caches the passdb lookup
# but still verifies the password (Argon2id) on every LOGIN
auth_cache_size = 10M
auth_cache_ttl = 10 mins

passdb {
  driver = passwd-file
  args = ${d}/users
}
userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${d}/home/%u
}

protocol imap {
  # all benchmark clients are one user from one address
  mail_max_userip_connections = ${limit}
}

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
  service_count = 0
  process_min_avail = ${os.cpus().length}
  client_limit = ${limit}
}
service imap {
  process_limit = ${limit}
  process_min_avail = ${os.cpus().length}
}
${pop3Port === null ? '' : `protocol pop3 {
  mail_max_userip_connections = ${limit}
}

service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${pop3Port}
  }
  inet_listener pop3s {
    port = 0
  }
  service_count = 0
  process_min_avail = ${os.cpus().length}
  client_limit = ${limit}
}
service pop3 {
  process_limit = ${limit}
}
`}service anvil {
  client_limit = ${limit * 3}
}
service auth {
  client_limit = ${limit * 3}
}
`;
  }

  /** Starts the master in the foreground (`dovecot -F`), fd limit raised, and waits for the
   * greeting (IMAP's, and POP3's with `pop3`: needs dovecot-pop3d). */
  async start(maxClients: number, opts: { pop3?: boolean } = {}): Promise<ImapTarget> {
    const port = await freePort();
    let pop3Port: number | null = null;
    if (opts.pop3) {
      if (!dovecotPop3Available()) throw new Error('dovecot POP3 is not installed (apt-get install -y dovecot-pop3d)');
      do pop3Port = await freePort();
      while (pop3Port === port);
    }
    const conf = path.join(this.dir, 'dovecot.conf');
    fs.writeFileSync(conf, this.config(port, maxClients, pop3Port));
    const users = path.join(this.dir, 'users');
    fs.writeFileSync(users, this.users.map((u) => `${u.address}:${u.hash}::::::\n`).join(''), { mode: 0o640 });
    fs.chownSync(users, 0, ids('dovecot').gid); // read by the auth process (default_internal_user)
    const child = spawnServerChild('exec dovecot -F -c "$0"', [conf], maxClients);
    const { proc, exited, unhook } = child;
    const logFile = path.join(this.dir, 'dovecot.log');
    const log = () => {
      let l = '';
      try {
        l = fs.readFileSync(logFile, 'utf8').slice(-20_000);
      } catch {
        // not yet
      }
      return child.output() + l;
    };
    try {
      const dead = () => (child.exitCode() !== undefined ? `dovecot exited (${child.exitCode()}): ${log()}` : null);
      await waitForGreeting(port, dead);
      if (pop3Port !== null) await waitForGreeting(pop3Port, dead, 60_000, '+OK');
    } catch (e) {
      proc.kill('SIGKILL');
      throw e;
    }
    const pid = proc.pid!;
    for (const address of this.toImport) {
      const t = performance.now();
      try {
        execFileSync('doveadm', ['-c', conf, 'import', '-u', address, '-s', `maildir:${this.maildir(address)}`, '', 'all'], { stdio: 'pipe' });
      } catch (e) {
        proc.kill('SIGKILL');
        throw new Error(`doveadm import for ${address} failed: ${(e as { stderr?: Buffer }).stderr?.toString() ?? e}`);
      }
      fs.rmSync(this.maildir(address), { recursive: true, force: true });
      this.importSeconds[address] = Math.round((performance.now() - t) / 100) / 10;
    }
    this.toImport = [];
    return {
      name: 'dovecot',
      port,
      ...(pop3Port !== null ? { pop3Port } : {}),
      pid,
      cpuSeconds: () => treeCpuSeconds(pid),
      memoryKB: () => treePssKB(pid),
      log,
      stop: async () => {
        const tree = processTree(pid);
        if (child.exitCode() === undefined) {
          proc.kill('SIGTERM');
          const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
          await exited;
          clearTimeout(t);
        }
        // the master's children exit when it does; wait for them (they may still write indexes)
        const deadline = Date.now() + 10_000;
        while (tree.some((p) => fs.existsSync(`/proc/${p}`)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        unhook();
      },
    };
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
}
