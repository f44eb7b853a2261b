// Trace fields added to every received message (RFC 5321 §4.4, RFC 3848 "with" keywords).
export interface TraceInfo {
  mailFrom: string;
  heloName: string;
  clientIp: string;
  clientHostname: string | null;
  hostname: string;
  queueId: string;
  tls: { protocol: string; cipher: string } | null;
  esmtp: boolean;
  /** Only named in Received when the message has exactly one recipient (privacy of the others). */
  singleRecipient: string | null;
  date: Date;
}

/** RFC 5322 date-time, e.g. "Sat, 28 Nov 2026 03:46:06 +0000". */
export function rfc5322Date(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

const clean = (s: string) => s.replace(/[\x00-\x1f\x7f()\\]/g, '').slice(0, 255);

export function traceHeaders(t: TraceInfo): string {
  const ip = t.clientIp.includes(':') ? `IPv6:${t.clientIp}` : t.clientIp;
  const from = `from ${clean(t.heloName) || 'unknown'} (${t.clientHostname ? clean(t.clientHostname) + ' ' : ''}[${ip}])`;
  const withProto = (t.esmtp ? 'ESMTP' : 'SMTP') + (t.tls ? 'S' : '');
  const tls = t.tls ? `\r\n\t(using ${clean(t.tls.protocol)} with cipher ${clean(t.tls.cipher)})` : '';
  const forPart = t.singleRecipient ? `\r\n\tfor <${clean(t.singleRecipient)}>` : '';
  return (
    `Return-Path: <${clean(t.mailFrom)}>\r\n` +
    `Received: ${from}\r\n\tby ${t.hostname} (Fjord Mail) with ${withProto} id ${t.queueId}${tls}${forPart};\r\n\t${rfc5322Date(t.date)}\r\n`
  );
}
