// An authoritative DNS server on loopback (UDP and TCP) answering from an in-memory zone, so
// tests drive the real resolver path (`--dns HOST:PORT`, c-ares) for DNSBL, SPF, DKIM, DMARC
// and reverse lookups. Names are case-insensitive; a name may be made to time out or SERVFAIL.
import dgram from 'node:dgram';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as packet from 'dns-packet';
import { before, after, beforeEach } from 'node:test';
import { createResolver, type Resolver } from '../../src/dns/resolver.js';

export type RecordType = 'A' | 'AAAA' | 'TXT' | 'MX' | 'PTR' | 'CNAME' | 'NS' | 'SPF';

export interface ZoneRecord {
  type: RecordType;
  /** A/AAAA: address; TXT/SPF: one string or the character-strings of one record; MX:
   * { preference, exchange }; PTR/CNAME/NS: a name. */
  data: string | string[] | { preference: number; exchange: string };
  ttl?: number;
}

export type Behaviour = 'timeout' | 'servfail';

export class TestDnsServer {
  private readonly records = new Map<string, ZoneRecord[]>();
  private readonly behaviour = new Map<string, Behaviour>();
  /** Every query received, as "name TYPE" (lower-case name), in order. */
  readonly queries: string[] = [];
  /** Every UDP answer leaves this long after its query (a resolver's round trip, for benches). */
  delayMs = 0;
  private readonly tcpSockets = new Set<net.Socket>();

  private constructor(
    private readonly udp: dgram.Socket,
    private readonly tcp: net.Server,
    readonly host: string,
    readonly port: number,
  ) {}

  /** Starts on host (default 127.0.0.1), UDP and TCP on the same free port. */
  static async start(host = '127.0.0.1'): Promise<TestDnsServer> {
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(0, host, () => {
          udp.off('error', reject);
          resolve();
        });
      });
      const port = (udp.address() as AddressInfo).port;
      const tcp = net.createServer();
      const ok = await new Promise<boolean>((resolve) => {
        tcp.once('error', () => resolve(false));
        tcp.listen(port, host, () => resolve(true));
      });
      if (!ok) {
        udp.close();
        if (attempt > 20) throw new Error('no free port for the test DNS server');
        continue;
      }
      const server = new TestDnsServer(udp, tcp, host, port);
      udp.on('message', (msg, rinfo) => {
        const out = server.answer(msg, 512);
        if (!out) return;
        if (server.delayMs > 0) setTimeout(() => udp.send(out, rinfo.port, rinfo.address), server.delayMs);
        else udp.send(out, rinfo.port, rinfo.address);
      });
      tcp.on('connection', (s) => server.serveTcp(s));
      return server;
    }
  }

  /** "HOST:PORT" for config.dns / --dns. */
  get address(): string {
    return this.host.includes(':') ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  /** Adds records to a name (replacing nothing). */
  add(name: string, ...records: ZoneRecord[]): this {
    const key = norm(name);
    this.records.set(key, [...(this.records.get(key) ?? []), ...records]);
    return this;
  }

  /** Replaces every record of a name (no records: the name no longer exists). */
  set(name: string, records: ZoneRecord[]): this {
    if (records.length) this.records.set(norm(name), records);
    else this.records.delete(norm(name));
    return this;
  }

  /** Makes queries for a name time out (no answer at all) or get SERVFAIL. */
  misbehave(name: string, how: Behaviour | null): this {
    if (how) this.behaviour.set(norm(name), how);
    else this.behaviour.delete(norm(name));
    return this;
  }

  clear(): void {
    this.records.clear();
    this.behaviour.clear();
    this.queries.length = 0;
  }

  async close(): Promise<void> {
    for (const s of this.tcpSockets) s.destroy();
    await Promise.all([new Promise<void>((r) => this.udp.close(() => r())), new Promise<void>((r) => this.tcp.close(() => r()))]);
  }

  private serveTcp(socket: net.Socket): void {
    this.tcpSockets.add(socket);
    socket.on('close', () => this.tcpSockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const out = this.answer(buf.subarray(2, 2 + len), 65535);
        buf = buf.subarray(2 + len);
        if (out) {
          const head = Buffer.alloc(2);
          head.writeUInt16BE(out.length);
          socket.write(Buffer.concat([head, out]));
        }
      }
    });
  }

  /** The response to one query message, or null to stay silent (timeout). */
  private answer(msg: Buffer, maxSize: number): Buffer | null {
    let query: packet.Packet;
    try {
      query = packet.decode(msg);
    } catch {
      return null;
    }
    const q = query.questions?.[0];
    if (!q) return null;
    const name = norm(q.name);
    this.queries.push(`${name} ${q.type}`);
    const how = this.behaviour.get(name);
    if (how === 'timeout') return null;
    const base = { id: query.id, type: 'response' as const, flags: packet.AUTHORITATIVE_ANSWER | (query.flags ?? 0) & packet.RECURSION_DESIRED, questions: [q] };
    if (how === 'servfail') return packet.encode({ ...base, flags: base.flags | 2 /* rcode SERVFAIL */ });
    const answers: packet.Answer[] = [];
    let current = name;
    // Follow CNAMEs within the zone, as a recursive resolver would hand them back.
    for (let hops = 0; hops < 8; hops++) {
      const recs = this.records.get(current) ?? [];
      const cname = recs.find((r) => r.type === 'CNAME');
      const wanted = recs.filter((r) => r.type === q.type || (q.type === 'ANY' as string));
      for (const r of wanted) answers.push(toAnswer(current, r));
      if (cname && q.type !== 'CNAME' && wanted.length === 0) {
        answers.push(toAnswer(current, cname));
        current = norm(cname.data as string);
        continue;
      }
      break;
    }
    const exists = this.records.has(name) || answers.length > 0;
    const rcode = exists ? 0 : 3; // NXDOMAIN
    let out = packet.encode({ ...base, flags: base.flags | rcode, answers });
    if (out.length > maxSize) out = packet.encode({ ...base, flags: base.flags | packet.TRUNCATED_RESPONSE | rcode });
    return out;
  }
}

function norm(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function toAnswer(name: string, r: ZoneRecord): packet.Answer {
  const ttl = r.ttl ?? 300;
  switch (r.type) {
    case 'TXT':
    case 'SPF': {
      const strings = Array.isArray(r.data) ? r.data : [r.data as string];
      // A TXT character-string holds at most 255 octets: longer ones are split, as zone files do.
      const chunks: Buffer[] = [];
      for (const s of strings) {
        const b = Buffer.from(s);
        if (b.length === 0) chunks.push(b);
        for (let i = 0; i < b.length; i += 255) chunks.push(b.subarray(i, i + 255));
      }
      return { name, type: r.type, ttl, data: chunks } as packet.Answer;
    }
    case 'MX':
      return { name, type: 'MX', ttl, data: r.data as { preference: number; exchange: string } };
    default:
      return { name, type: r.type, ttl, data: r.data as string } as packet.Answer;
  }
}

/** For a test file: one loopback DNS server and a resolver pointed at it for the whole file,
 * emptied before each test. The resolver's own timeout is long, so what bounds a lookup in a
 * test is the code under test. */
export function loopbackDns(): { readonly dns: TestDnsServer; readonly resolver: Resolver } {
  const ctx = {} as { dns: TestDnsServer; resolver: Resolver };
  before(async () => {
    ctx.dns = await TestDnsServer.start();
    ctx.resolver = createResolver(ctx.dns.address, 5000);
  });
  after(async () => {
    ctx.resolver.cancel();
    await ctx.dns.close();
  });
  beforeEach(() => ctx.dns.clear());
  return ctx;
}
