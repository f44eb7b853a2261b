// Runs one case of a conformance script against a running Fjord system.
import os from 'node:os';
import type { Duplex } from 'node:stream';
import type { Store } from '../../../src/store/types.js';
import type { SpecialUse } from '../../../src/store/types.js';
import { parseMessage } from '../../../src/mime/index.js';
import { Connection, ConnectionClosed, ReadTimeout } from './transport.js';
import { Pattern, literalInsert, unescape, type Blobs } from './match.js';
import type { Case, ExpectLine, ScriptFile, Step } from './script.js';

export interface Env {
  store: Store;
  imapPort: number;
  appendLimit: number;
  /** Opens a connection the server sees as coming from a non-loopback address (198.51.100.7). */
  openRemote(): Promise<Duplex>;
  /** Creates an account with password "secret". */
  addAccount(address: string, quota: { bytes?: number; messages?: number }): Promise<void>;
}

export class CaseFailure extends Error {}
export class CaseSkipped extends Error {}

const DEFAULT_TIMEOUT = 2000;
let accountSerial = 0;

/** A non-loopback local IPv4 address of this machine, if it has one. */
export function lanAddress(): string | null {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

export class CaseRun {
  private readonly conns = new Map<string, Connection>();
  private readonly vars = new Map<string, string>();
  private readonly accounts = new Map<string, string>();
  private readonly transcript: string[] = [];
  private readonly tagCounters = new Map<string, number>();
  private timeout = DEFAULT_TIMEOUT;
  private step: Step | null = null;

  constructor(private readonly env: Env, private readonly file: ScriptFile, private readonly c: Case) {}

  private get blobs(): Blobs {
    return this.file.blobs;
  }

  async run(): Promise<void> {
    try {
      const user = `u${++accountSerial}-${process.pid}@conf.test`;
      await this.env.addAccount(user, {});
      this.accounts.set('user', user);
      this.vars.set('user', user);
      this.vars.set('pass', 'secret');
      this.vars.set('appendlimit', String(this.env.appendLimit));
      for (const s of this.c.steps) {
        this.step = s;
        await this.exec(s);
      }
    } catch (e) {
      if (e instanceof CaseSkipped) throw e;
      const where = this.step ? `${this.file.path}:${this.step.line}` : this.file.path;
      const msg = e instanceof CaseFailure ? e.message : `${(e as Error).message}`;
      throw new CaseFailure(`${where}: ${msg}\n--- transcript (last 30) ---\n${this.transcript.slice(-30).map(show).join('\n')}`);
    } finally {
      for (const c of this.conns.values()) c.close();
    }
  }

  // ---- variables ----

  /** ${name}, ${b64:text}, ${repeat:text:n}, ${len:blob} (text may hold escapes). */
  private expand(s: string): string {
    let out = s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, k: string) => {
      const v = this.vars.get(k);
      if (v === undefined) throw new CaseFailure(`unknown variable \${${k}}`);
      return v;
    });
    out = out.replace(/\$\{b64:([^}]*)\}/g, (_m, t: string) => Buffer.from(unescape(t), 'latin1').toString('base64'));
    out = out.replace(/\$\{repeat:([^:}]*):(\d+)\}/g, (_m, t: string, n: string) => unescape(t).repeat(Number(n)));
    out = out.replace(/\$\{len:([^}]*)\}/g, (_m, b: string) => String(literalInsert(b, this.blobs).data.length));
    return out;
  }

  // ---- connections ----

  private async open(name: string, how: string, consumeGreeting: boolean): Promise<Connection> {
    if (this.conns.has(name)) throw new CaseFailure(`connection ${name} is already open`);
    let conn: Connection;
    if (how === 'remote') {
      conn = new Connection(await this.env.openRemote(), name, this.transcript);
    } else if (how === 'lan') {
      const addr = lanAddress();
      if (!addr) throw new CaseSkipped('no non-loopback IPv4 address on this machine');
      conn = await Connection.tcp(this.env.imapPort, name, this.transcript, addr);
    } else {
      conn = await Connection.tcp(this.env.imapPort, name, this.transcript);
    }
    this.conns.set(name, conn);
    if (consumeGreeting) {
      const g = await conn.readLine(this.timeout);
      if (!/^\* (OK|PREAUTH) /.test(g)) throw new CaseFailure(`connection ${name}: unexpected greeting ${show(g)}`);
    }
    return conn;
  }

  private async conn(name: string): Promise<Connection> {
    return this.conns.get(name) ?? (await this.open(name, 'tcp', true));
  }

  private nextTag(conn: string, prefix: string): string {
    const n = (this.tagCounters.get(conn + prefix) ?? 0) + 1;
    this.tagCounters.set(conn + prefix, n);
    return `${prefix}${conn}.${n}`;
  }

  // ---- steps ----

  private async exec(s: Step): Promise<void> {
    switch (s.k) {
      case 'send':
        return this.send(s.conn, s.text, s.raw);
      case 'expect':
        return this.expectOne(s);
      case 'unordered':
        return this.expectUnordered(s.conn, s.items);
      case 'either':
        return this.expectEither(s.conn, s.branches);
      case 'dir':
        return this.directive(s.name, s.args.map((a) => this.expand(a)), this.expand(s.rest));
    }
  }

  /** Sends a client line; <<...>> inserts become literals (waiting for "+" when synchronising). */
  private async send(name: string, text: string, raw: boolean, expanded = false): Promise<void> {
    const conn = await this.conn(name);
    const t = expanded ? text : this.expand(text);
    if (raw) {
      conn.write(Buffer.from(unescape(t), 'latin1'), t);
      return;
    }
    const parts = t.split(/<<([\s\S]*?)>>/);
    let shown = '';
    for (let i = 0; i < parts.length; i++) {
      if (i % 2 === 0) {
        const last = i === parts.length - 1;
        if (last) {
          conn.write(Buffer.from(parts[i]! + '\r\n', 'latin1'), shown + parts[i]! || '(end of command line)');
        } else {
          shown += parts[i]!;
        }
        continue;
      }
      const lit = literalInsert(parts[i]!, this.blobs);
      const marker = `${lit.binary ? '~' : ''}{${lit.data.length}${lit.nonSync ? '+' : ''}}`;
      conn.write(Buffer.from(shown + marker + '\r\n', 'latin1'), shown + marker);
      shown = '';
      if (!lit.nonSync) {
        const reply = await conn.readLine(this.timeout);
        if (!reply.startsWith('+')) {
          // The server refused the literal (e.g. NO [TOOBIG]): the script goes on with that reply.
          conn.unread(reply);
          return;
        }
        if (!/^\+ /.test(reply) && reply !== '+') throw new CaseFailure(`malformed continuation request ${show(reply)} (RFC 9051 §7.5: "+" SP text)`);
      }
      conn.write(Buffer.from(lit.data, 'latin1'), `<${lit.data.length} literal bytes>`);
    }
  }

  private pattern(e: ExpectLine): Pattern {
    return new Pattern(this.expand(e.pattern), this.blobs);
  }

  private capture(captures: Record<string, string>): void {
    for (const [k, v] of Object.entries(captures)) this.vars.set(k, v);
  }

  private async read(conn: Connection, what: string): Promise<string | null> {
    try {
      return await conn.readLine(this.timeout);
    } catch (e) {
      if (e instanceof ReadTimeout || e instanceof ConnectionClosed) {
        if (what === '') return null;
        throw new CaseFailure(`${e.message}; expected ${what}`);
      }
      throw e;
    }
  }

  private async expectOne(e: ExpectLine): Promise<void> {
    const conn = await this.conn(e.conn);
    const p = this.pattern(e);
    if (e.mode === 'one') {
      const line = (await this.read(conn, show(p.source)))!;
      const r = p.match(line);
      if (!r.ok) throw new CaseFailure(`expected ${show(p.source)}\n           got ${show(line)}${r.why ? ` (${r.why})` : ''}`);
      this.capture(r.captures);
      return;
    }
    for (;;) {
      const line = await this.read(conn, '');
      if (line === null) return;
      const r = p.match(line);
      if (!r.ok) {
        conn.unread(line);
        return;
      }
      this.capture(r.captures);
      if (e.mode === 'opt') return;
    }
  }

  /** Tries each branch in turn; lines read by a failing branch are put back for the next one. */
  private async expectEither(name: string, branches: ExpectLine[][]): Promise<void> {
    const conn = await this.conn(name);
    const failures: string[] = [];
    for (const branch of branches) {
      const consumed: string[] = [];
      const saved = new Map(this.vars);
      let ok = true;
      for (const e of branch) {
        const p = this.pattern(e);
        let matchedOnce = false;
        for (;;) {
          const line = await this.read(conn, '');
          if (line === null) break;
          const r = p.match(line);
          if (!r.ok) {
            conn.unread(line);
            break;
          }
          consumed.push(line);
          this.capture(r.captures);
          matchedOnce = true;
          if (e.mode !== 'star') break;
        }
        if (!matchedOnce && e.mode === 'one') {
          ok = false;
          failures.push(`branch at line ${branch[0]!.line}: no match for ${show(p.source)}`);
          break;
        }
      }
      if (ok) return;
      for (let i = consumed.length - 1; i >= 0; i--) conn.unread(consumed[i]!);
      this.vars.clear();
      for (const [k, v] of saved) this.vars.set(k, v);
    }
    const next = await this.read(conn, '');
    if (next !== null) conn.unread(next);
    throw new CaseFailure(`no @either branch matched; next line ${next === null ? '(none)' : show(next)}\n  ${failures.join('\n  ')}`);
  }

  private async expectUnordered(name: string, items: ExpectLine[]): Promise<void> {
    const conn = await this.conn(name);
    const left = new Set(items);
    const required = () => [...left].filter((x) => x.mode === 'one');
    for (;;) {
      const pending = required();
      if (pending.length === 0 && [...left].every((x) => x.mode === 'one')) return;
      const line = await this.read(conn, pending.length > 0 ? `one of ${pending.map((x) => show(x.pattern)).join(', ')}` : '');
      if (line === null) return;
      let hit: ExpectLine | null = null;
      for (const mode of ['one', 'opt', 'star'] as const) {
        for (const x of left) {
          if (x.mode !== mode) continue;
          const r = this.pattern(x).match(line);
          if (r.ok) {
            this.capture(r.captures);
            hit = x;
            break;
          }
        }
        if (hit) break;
      }
      if (hit) {
        if (hit.mode !== 'star') left.delete(hit);
        continue;
      }
      if (pending.length === 0) {
        conn.unread(line);
        return;
      }
      throw new CaseFailure(`got ${show(line)}\n  expected (in any order) one of:\n${pending.map((x) => `    ${show(x.pattern)}`).join('\n')}`);
    }
  }

  private connArg(args: string[]): { name: string; rest: string[] } {
    if (args[0] !== undefined && /^\d+$/.test(args[0])) return { name: args[0], rest: args.slice(1) };
    return { name: '1', rest: args };
  }

  private account(opts: Record<string, string>): string {
    const who = opts.as ?? 'user';
    const a = this.accounts.get(who);
    if (!a) throw new CaseFailure(`unknown account ${who}`);
    return a;
  }

  private async directive(name: string, args: string[], rest: string): Promise<void> {
    const opts = keyValues(rest);
    const store = this.env.store;
    switch (name) {
      case 'skip':
        throw new CaseSkipped(rest || 'skipped');
      case 'timeout':
        this.timeout = Number(args[0]);
        return;
      case 'sleep':
        await new Promise((r) => setTimeout(r, Number(args[0] ?? 100)));
        return;
      case 'account': {
        const key = args[0]!;
        const address = `${key}${++accountSerial}-${process.pid}@conf.test`;
        await this.env.addAccount(address, quota(opts));
        this.accounts.set(key, address);
        this.vars.set(key, address);
        return;
      }
      case 'quota': {
        await store.setQuota(this.account(opts), quota(opts));
        return;
      }
      case 'mailbox': {
        const acct = await store.getAccount(this.account(opts));
        await store.createMailbox(acct!.id, args[0]!, opts.use ? { specialUse: opts.use as SpecialUse } : undefined);
        return;
      }
      case 'append': {
        const acct = await store.getAccount(this.account(opts));
        const mb = await store.getMailbox(acct!.id, args[0]!);
        if (!mb) throw new CaseFailure(`@append: no mailbox ${args[0]}`);
        const blob = this.blobs.get(args[1]!);
        if (blob === undefined) throw new CaseFailure(`@append: no blob ${args[1]}`);
        const raw = Buffer.from(blob, 'latin1');
        const flags = opts.flags ? opts.flags.replace(/^\(|\)$/g, '').split(/\s+/).filter(Boolean) : [];
        await store.append(mb.id, { raw, parsed: parseMessage(raw), flags, ...(opts.date ? { internalDate: new Date(opts.date) } : {}) });
        return;
      }
      case 'connect': {
        const { name: c, rest: r } = this.connArg(args);
        await this.open(c, r[0] ?? 'tcp', false);
        return;
      }
      case 'login': {
        const { name: c } = this.connArg(args);
        const conn = this.conns.get(c) ?? (await this.open(c, 'tcp', true));
        const tag = this.nextTag(c, 'L');
        conn.write(Buffer.from(`${tag} LOGIN "${this.account(opts)}" "secret"\r\n`, 'latin1'), `${tag} LOGIN ...`);
        await this.untilTagged(conn, tag, true);
        return;
      }
      case 'do': {
        const { name: c, rest: r } = this.connArg(args);
        const conn = await this.conn(c);
        const tag = this.nextTag(c, 'D');
        const cmd = rest.slice(rest.indexOf(r[0]!));
        await this.send(c, `${tag} ${cmd}`, false, true);
        await this.untilTagged(conn, tag, true);
        return;
      }
      case 'starttls': {
        const { name: c } = this.connArg(args);
        await (await this.conn(c)).startTls();
        return;
      }
      case 'compress': {
        const { name: c } = this.connArg(args);
        (await this.conn(c)).startCompression();
        return;
      }
      case 'nothing': {
        const { name: c, rest: r } = this.connArg(args);
        const got = await (await this.conn(c)).quiet(Number(r[0] ?? 150));
        if (got !== null) throw new CaseFailure(`expected no response yet, got ${show(got)}`);
        return;
      }
      case 'closed': {
        const { name: c } = this.connArg(args);
        const conn = this.conns.get(c);
        if (!conn) throw new CaseFailure(`connection ${c} is not open`);
        const extra = await conn.waitClosed(this.timeout);
        if (extra.length > 0) throw new CaseFailure(`expected the server to close connection ${c}; first got ${show(extra[0]!)}`);
        return;
      }
      case 'close': {
        const { name: c } = this.connArg(args);
        this.conns.get(c)?.close();
        this.conns.delete(c);
        return;
      }
      case 'check': {
        // @check A OP B [|| A OP B ...]: numbers compare numerically, anything else as text
        // (== and != only); the check passes when any alternative holds.
        const alts = rest.split(' || ').map((x) => x.trim().split(/\s+/));
        const results = alts.map(([a, op, b]) => {
          if (a === undefined || op === undefined || b === undefined) throw new CaseFailure('@check needs A OP B');
          const num = /^\d+$/.test(a) && /^\d+$/.test(b);
          const x: number | string = num ? Number(a) : a;
          const y: number | string = num ? Number(b) : b;
          const ok = { '==': x === y, '!=': x !== y, '<': num && x < y, '<=': num && x <= y, '>': num && x > y, '>=': num && x >= y }[op];
          if (ok === undefined) throw new CaseFailure(`@check: unknown operator ${op}`);
          return ok;
        });
        if (!results.some(Boolean)) throw new CaseFailure(`check failed: ${show(rest)}`);
        return;
      }
      case 'set': {
        for (const [k, v] of Object.entries(opts)) this.vars.set(k, v);
        return;
      }
      default:
        throw new CaseFailure(`unknown directive @${name}`);
    }
  }

  private async untilTagged(conn: Connection, tag: string, mustOk: boolean): Promise<void> {
    for (;;) {
      const l = (await this.read(conn, `${tag} OK`))!;
      if (l.startsWith(tag + ' ')) {
        if (mustOk && !l.startsWith(`${tag} OK`)) throw new CaseFailure(`setup command failed: ${show(l)}`);
        return;
      }
    }
  }
}

function quota(o: Record<string, string>): { bytes?: number; messages?: number } {
  return { ...(o.bytes ? { bytes: Number(o.bytes) } : {}), ...(o.messages ? { messages: Number(o.messages) } : {}) };
}

/** key=value pairs; values may be "quoted" or (parenthesised). */
function keyValues(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Za-z_]+)=("([^"]*)"|\(([^)]*)\)|(\S+))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) out[m[1]!] = m[3] ?? (m[4] !== undefined ? `(${m[4]})` : m[5]!);
  return out;
}

/** A byte string made readable for failure output. */
export function show(s: string): string {
  const t = s.length > 600 ? s.slice(0, 600) + `…(+${s.length - 600})` : s;
  return t.replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

