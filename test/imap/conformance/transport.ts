// One client connection of the conformance runner: raw bytes in both directions over a TCP
// socket, with STARTTLS and COMPRESS=DEFLATE layered on at the
// moment the script says so. Server output is cut into response lines with literals inlined
// (`{N}\r\n` + N bytes, `~{N}\r\n` + N bytes), as latin1 "byte strings" so any byte survives.
import net from 'node:net';
import tls from 'node:tls';
import zlib from 'node:zlib';
import { Duplex } from 'node:stream';

export class ConnectionClosed extends Error {}
export class ReadTimeout extends Error {}

export class Connection {
  private raw: Duplex;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  /** Lines read but not consumed (optional / unordered matching puts lines back here). */
  private pending: string[] = [];
  private inflate: zlib.InflateRaw | null = null;
  private deflate: zlib.DeflateRaw | null = null;
  private detach: (() => void) | null = null;
  closed = false;
  constructor(raw: Duplex, readonly name: string, readonly transcript: string[] = []) {
    this.raw = raw;
    this.attach(raw);
  }

  static async tcp(port: number, name: string, transcript: string[], localAddress?: string): Promise<Connection> {
    const socket = net.connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    return new Connection(socket, name, transcript);
  }

  private attach(raw: Duplex): void {
    const onData = (d: Buffer) => {
      if (this.inflate) this.inflate.write(d);
      else this.received(d);
    };
    const onEnd = () => {
      // With compression on, bytes may still sit in the inflater: close after them.
      if (this.inflate) this.inflate.end();
      else this.markClosed();
    };
    const onError = () => this.markClosed();
    raw.on('data', onData);
    raw.on('end', onEnd);
    raw.on('close', onEnd);
    raw.on('error', onError);
    this.detach = () => {
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('close', onEnd);
      raw.off('error', onError);
    };
  }

  private received(d: Buffer): void {
    this.buf = this.buf.length === 0 ? Buffer.from(d) : Buffer.concat([this.buf, d]);
    this.wake();
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private waitData(timeoutMs: number): Promise<void> {
    if (this.closed) return Promise.reject(new ConnectionClosed(`${this.name}: connection closed by the server`));
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new ReadTimeout(`${this.name}: no response within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(t);
        resolve();
      };
      this.waiters.push(done);
    });
  }

  /** Next complete response line (literals inlined, CRLF removed). */
  async readLine(timeoutMs: number): Promise<string> {
    const p = this.pending.shift();
    if (p !== undefined) return p;
    let pos = 0; // scan position in buf for the current line (literals already skipped)
    for (;;) {
      const nl = this.buf.indexOf('\r\n', pos, 'latin1');
      if (nl === -1) {
        await this.waitData(timeoutMs);
        continue;
      }
      const head = this.buf.toString('latin1', pos, nl);
      const m = /~?\{(\d+)\}$/.exec(head);
      if (m) {
        const end = nl + 2 + Number(m[1]);
        while (this.buf.length < end) await this.waitData(timeoutMs);
        pos = end;
        continue;
      }
      const line = this.buf.toString('latin1', 0, nl);
      this.buf = this.buf.subarray(nl + 2);
      this.transcript.push(`S${this.name}: ${line}`);
      return line;
    }
  }

  /** Puts a line back so the next readLine returns it. */
  unread(line: string): void {
    this.pending.unshift(line);
  }

  /** True when nothing arrives within `ms` (and nothing unconsumed is buffered). */
  async quiet(ms: number): Promise<string | null> {
    if (this.pending.length > 0) return this.pending[0]!;
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (this.buf.length > 0) return this.buf.toString('latin1').split('\r\n')[0]!;
      if (this.closed) return '<connection closed>';
      try {
        await this.waitData(Math.max(1, deadline - Date.now()));
      } catch (e) {
        if (e instanceof ReadTimeout) break;
        if (e instanceof ConnectionClosed) return '<connection closed>';
        throw e;
      }
    }
    return this.buf.length > 0 ? this.buf.toString('latin1').split('\r\n')[0]! : null;
  }

  /** Waits until the server closes the connection; returns lines that arrived meanwhile. */
  async waitClosed(timeoutMs: number): Promise<string[]> {
    const extra: string[] = [...this.pending];
    this.pending = [];
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new ReadTimeout(`${this.name}: the server did not close the connection within ${timeoutMs} ms`);
      try {
        await this.waitData(left);
      } catch (e) {
        if (e instanceof ConnectionClosed) break;
        throw e;
      }
    }
    if (this.buf.length > 0) extra.push(...this.buf.toString('latin1').split('\r\n').filter((l) => l !== ''));
    this.buf = Buffer.alloc(0);
    return extra;
  }

  /** Bytes to the server (through the compressor when COMPRESS is active). */
  write(data: Buffer, note?: string): void {
    if (note !== undefined) this.transcript.push(`C${this.name}: ${note}`);
    if (this.closed) return;
    if (this.deflate) {
      this.deflate.write(data);
      this.deflate.flush(zlib.constants.Z_SYNC_FLUSH);
    } else {
      this.raw.write(data);
    }
  }

  /** Client side of STARTTLS, after the tagged OK was read. */
  async startTls(): Promise<void> {
    if (this.pending.length > 0 || this.buf.length > 0) {
      throw new Error(`${this.name}: the server sent data after the STARTTLS OK, before the TLS handshake (RFC 9051 §6.2.1)`);
    }
    this.detach?.();
    const secure = tls.connect({ socket: this.raw, rejectUnauthorized: false, servername: 'mx.fjord.test' });
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new ReadTimeout(`${this.name}: TLS handshake did not complete`)), 3000);
      secure.once('secureConnect', () => {
        clearTimeout(t);
        resolve();
      });
      secure.once('error', (e) => {
        clearTimeout(t);
        reject(e);
      });
    });
    this.raw = secure;
    this.attach(secure);
    this.transcript.push(`--${this.name}: TLS established (${secure.getProtocol()})`);
  }

  /** Client side of COMPRESS=DEFLATE, after the tagged OK was read: whatever follows is DEFLATE. */
  startCompression(): void {
    const inflate = zlib.createInflateRaw();
    const deflate = zlib.createDeflateRaw();
    inflate.on('data', (d: Buffer) => this.received(d));
    inflate.on('end', () => this.markClosed());
    inflate.on('error', (e) => {
      this.transcript.push(`--${this.name}: inflate error ${e.message}`);
      this.markClosed();
    });
    deflate.on('data', (d: Buffer) => {
      if (!this.closed) this.raw.write(d);
    });
    // Bytes already received after the OK line are the start of the compressed stream.
    const rest = Buffer.concat([Buffer.from(this.pending.map((l) => l + '\r\n').join(''), 'latin1'), this.buf]);
    this.pending = [];
    this.buf = Buffer.alloc(0);
    this.inflate = inflate;
    this.deflate = deflate;
    if (rest.length > 0) inflate.write(rest);
    this.transcript.push(`--${this.name}: DEFLATE active`);
  }

  close(): void {
    this.closed = true;
    this.deflate?.destroy();
    this.inflate?.destroy();
    this.raw.destroy();
  }
}

/** Two connected in-process stream ends; the server end reports `remoteAddress` (used to build a
 * Session for a non-loopback peer without any socket). */
export class PipeEnd extends Duplex {
  peer: PipeEnd | null = null;
  remoteAddress: string | undefined;
  remotePort: number | undefined = 40000;

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const peer = this.peer;
    if (peer && !peer.destroyed) peer.push(Buffer.from(chunk));
    cb();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.peer && !this.peer.destroyed) this.peer.push(null);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const peer = this.peer;
    this.peer = null;
    if (peer && !peer.destroyed) {
      peer.push(null);
      peer.destroy();
    }
    cb(err);
  }

  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
}

export function pipePair(serverRemoteAddress: string): { client: PipeEnd; server: PipeEnd } {
  const client = new PipeEnd();
  const server = new PipeEnd();
  client.peer = server;
  server.peer = client;
  server.remoteAddress = serverRemoteAddress;
  client.remoteAddress = '127.0.0.1';
  return { client, server };
}
