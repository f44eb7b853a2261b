// A minimal DNS stub client (RFC 1035 over UDP, TCP when truncated) asking the servers our
// resolver is configured with. Used only for what c-ares refuses: it will not send a query
// for a name with characters outside host-name syntax (EBADNAME: e.g. SPF targets such as
// "foo:bar/baz.example.com", legal DNS names), and it rejects a whole answer holding a TXT
// record without strings (EBADRESP). Results have the shape of dns.promises.resolve().
import dgram from 'node:dgram';
import net from 'node:net';
import { randomInt } from 'node:crypto';
import { ipFromBytes } from '../../net/ip.js';

const TYPES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, PTR: 12, MX: 15, TXT: 16, AAAA: 28 };

function dnsError(code: string, rrtype: string, name: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`query${rrtype} ${code} ${name}`);
  err.code = code;
  return err;
}

/** "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:5353" → host and port. */
export function parseServer(s: string): { host: string; port: number } {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket) return { host: bracket[1], port: Number(bracket[2] ?? 53) };
  if (net.isIPv6(s)) return { host: s, port: 53 };
  const [host, port] = s.split(':');
  return { host, port: Number(port ?? 53) };
}

export function encodeName(name: string): Buffer | null {
  const parts: Buffer[] = [];
  for (const label of name.replace(/\.$/, '').split('.')) {
    const b = Buffer.from(label, 'utf8');
    if (b.length === 0 || b.length > 63) return null;
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  return out.length <= 255 ? out : null;
}

function encodeQuery(id: number, qname: Buffer, qtype: number): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(0x0100, 2); // RD
  head.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(qtype, 0);
  tail.writeUInt16BE(1, 2); // IN
  return Buffer.concat([head, qname, tail]);
}

/** Reads a (possibly compressed) name at `offset`; returns it and the offset after it. */
function readName(msg: Buffer, offset: number): [string, number] {
  const labels: string[] = [];
  let pos = offset;
  let end = -1;
  for (let jumps = 0; ; ) {
    if (pos >= msg.length) throw new Error('name beyond message');
    const len = msg[pos];
    if (len === 0) {
      pos++;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (++jumps > 32) throw new Error('compression loop');
      if (end < 0) end = pos + 2;
      pos = ((len & 0x3f) << 8) | msg[pos + 1];
      continue;
    }
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return [labels.join('.'), end < 0 ? pos : end];
}

function decode(msg: Buffer, id: number, qtype: number, rrtype: string, name: string): unknown[] {
  if (msg.length < 12 || msg.readUInt16BE(0) !== id) throw dnsError('EBADRESP', rrtype, name);
  const flags = msg.readUInt16BE(2);
  const rcode = flags & 0xf;
  if (rcode === 3) throw dnsError('ENOTFOUND', rrtype, name);
  if (rcode === 2) throw dnsError('ESERVFAIL', rrtype, name);
  if (rcode === 5) throw dnsError('EREFUSED', rrtype, name);
  if (rcode !== 0) throw dnsError('EBADRESP', rrtype, name);
  const qd = msg.readUInt16BE(4);
  const an = msg.readUInt16BE(6);
  let pos = 12;
  for (let i = 0; i < qd; i++) pos = readName(msg, pos)[1] + 4;
  const out: unknown[] = [];
  for (let i = 0; i < an; i++) {
    pos = readName(msg, pos)[1];
    const type = msg.readUInt16BE(pos);
    const len = msg.readUInt16BE(pos + 8);
    const rdata = pos + 10;
    pos = rdata + len;
    if (type !== qtype) continue; // CNAMEs on the way
    switch (type) {
      case 1:
        out.push([...msg.subarray(rdata, rdata + 4)].join('.'));
        break;
      case 28:
        out.push(ipFromBytes(msg.subarray(rdata, rdata + 16)).text);
        break;
      case 15:
        out.push({ priority: msg.readUInt16BE(rdata), exchange: readName(msg, rdata + 2)[0] });
        break;
      case 16: {
        const strings: string[] = [];
        for (let p = rdata; p < rdata + len; p += 1 + msg[p]) strings.push(msg.toString('latin1', p + 1, p + 1 + msg[p]));
        out.push(strings);
        break;
      }
      default:
        out.push(readName(msg, rdata)[0]);
    }
  }
  if (!out.length) throw dnsError('ENODATA', rrtype, name);
  return out;
}

function overUdp(server: { host: string; port: number }, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket(net.isIPv6(server.host) ? 'udp6' : 'udp4');
    const timer = setTimeout(() => done(new Error('timeout')), timeoutMs);
    const done = (err: Error | null, msg?: Buffer) => {
      clearTimeout(timer);
      sock.close();
      if (err) reject(err);
      else resolve(msg!);
    };
    sock.on('error', (e) => done(e));
    sock.on('message', (msg) => done(null, msg));
    sock.send(query, server.port, server.host);
  });
}

function overTcp(server: { host: string; port: number }, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(server.port, server.host);
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error('timeout')), timeoutMs);
    const done = (err: Error | null, msg?: Buffer) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(msg!);
    };
    sock.on('error', (e) => done(e));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) done(null, buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
  });
}

/** One query to the first server that answers; ETIMEOUT when none does within timeoutMs. */
export async function wireResolve(servers: string[], name: string, rrtype: string, timeoutMs: number): Promise<unknown[]> {
  const qtype = TYPES[rrtype];
  const qname = encodeName(name);
  if (!qtype || !qname) throw dnsError(qtype ? 'EBADNAME' : 'ENOTIMP', rrtype, name);
  const deadline = Date.now() + timeoutMs;
  for (const s of servers) {
    const server = parseServer(s);
    const id = randomInt(0, 0x10000);
    const query = encodeQuery(id, qname, qtype);
    try {
      let msg = await overUdp(server, query, Math.max(1, deadline - Date.now()));
      if (msg.length >= 4 && msg.readUInt16BE(2) & 0x0200) msg = await overTcp(server, query, Math.max(1, deadline - Date.now()));
      return decode(msg, id, qtype, rrtype, name);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code) throw e; // an answer: NXDOMAIN, NODATA, SERVFAIL…
      if (Date.now() >= deadline) break;
    }
  }
  throw dnsError('ETIMEOUT', rrtype, name);
}
