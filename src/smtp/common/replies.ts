// SMTP replies with our own enhanced status codes (RFC 3463). smtp-server adds a generic
// enhanced code derived from the reply code (550 → 5.1.1 even for a policy refusal), so replies
// built here carry their precise code in the text, and the patch below keeps smtp-server from
// prefixing a second one. The same patch corks the socket so replies to pipelined commands
// are written together, and leaves AUTH out of the EHLO reply before TLS where AUTH needs TLS
// (RFC 4954 §4: do not advertise what the client may not use; smtp-server has no option for it).
import { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';

export class SmtpReply extends Error {
  readonly responseCode: number;
  constructor(code: number, enhanced: string, text: string) {
    super(`${enhanced} ${text}`);
    this.responseCode = code;
  }
}

export function reply(code: number, enhanced: string, text: string): SmtpReply {
  return new SmtpReply(code, enhanced, text);
}

const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3} /;
type Send = (code: number, data?: unknown, context?: unknown) => void;
const proto = SMTPConnection.prototype as unknown as { send: Send; __fjordPatched?: boolean };
if (!proto.__fjordPatched) {
  const original = proto.send;
  proto.send = function (this: { _socket?: { cork(): void; uncork(): void; writable?: boolean }; secure?: boolean; _server?: { options?: { allowInsecureAuth?: boolean; hideSTARTTLS?: boolean } } }, code: number, data?: unknown, context?: unknown) {
    if (typeof data === 'string' && ENHANCED.test(data)) context = false;
    const o = this._server?.options;
    if (code === 250 && Array.isArray(data) && !this.secure && o && !o.allowInsecureAuth && !o.hideSTARTTLS && data.includes('STARTTLS')) {
      data = data.filter((l: unknown) => typeof l !== 'string' || !l.startsWith('AUTH '));
    }
    // Replies to pipelined commands leave in one segment (one write syscall) instead of one each.
    const socket = this._socket;
    if (socket && socket.writable) {
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
    return original.call(this, code, data, context);
  };
  proto.__fjordPatched = true;
}
