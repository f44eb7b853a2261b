// The mail the postmaster gets when an account's sending is frozen: who, when, why (each bulk
// signal with its points), and how to lift it.
import { randomBytes } from 'node:crypto';
import { rfc5322Date } from '../../smtp/inbound/trace-headers.js';
import type { ScorePart } from './score.js';

export function freezeNotice(n: { hostname: string; to: string; account: string; reason: string; parts: ScorePart[]; at: Date }): Buffer {
  const lines = [
    `Sending was frozen for ${n.account} at ${n.at.toISOString()}.`,
    '',
    `Reason: ${n.reason}`,
    '',
    ...n.parts.map((p) => `  ${p.signal.padEnd(16)} ${String(p.points).padStart(5)}  ${p.detail}`),
    '',
    'The account can still receive and read mail; it cannot send until a freeze is lifted:',
    `  fjord account sending ${n.account} --unfreeze`,
  ];
  return Buffer.from(
    `From: Fjord Mail <postmaster@${n.hostname}>\r\n` +
      `To: <${n.to}>\r\n` +
      `Subject: Sending frozen for ${n.account}\r\n` +
      `Date: ${rfc5322Date(n.at)}\r\n` +
      `Message-ID: <${randomBytes(12).toString('hex')}@${n.hostname}>\r\n` +
      'Auto-Submitted: auto-generated\r\n' +
      'MIME-Version: 1.0\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      'Content-Transfer-Encoding: 8bit\r\n' +
      '\r\n' +
      lines.join('\r\n') +
      '\r\n',
  );
}
