// SMTP replies as the outbound engine records them: classifying a reply (2xx delivered, 4xx
// deferred, 5xx failed), its enhanced status code (RFC 3463), and replies we make up ourselves
// for failures that never reached a remote server, written in the same "451 4.4.1 text" form
// so the queue, the logs and DSNs treat both alike.

export type Outcome = 'delivered' | 'deferred' | 'failed';

/** One line, printable, bounded: remote text ends up in logs, the CLI and DSNs. */
export function cleanReply(reply: string): string {
  return reply
    .replace(/\r?\n/g, ' ')
    .replace(/[\x00-\x1f\x7f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 1000);
}

export function replyCode(reply: string): number {
  const m = /^([2-5])\d\d/.exec(reply);
  return m ? Number(reply.slice(0, 3)) : 0;
}

export function classify(reply: string): Outcome {
  const c = replyCode(reply);
  if (c >= 200 && c < 300) return 'delivered';
  if (c >= 500) return 'failed';
  return 'deferred';
}

/** The enhanced status code of a reply ("550 5.1.1 …" → "5.1.1"), else derived from its class. */
export function enhancedStatus(reply: string): string {
  const m = /^([245])\d\d[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply);
  if (m && m[1] === m[2][0]) return m[2];
  const c = replyCode(reply);
  return c >= 500 ? '5.0.0' : c >= 200 && c < 300 ? '2.0.0' : '4.0.0';
}

/** A reply of our own making, e.g. local('451', '4.4.1', 'connect to mx[192.0.2.1]:25: ECONNREFUSED'). */
export function localReply(code: string, status: string, text: string): string {
  return `${code} ${status} ${cleanReply(text)}`;
}
