// Complaint reports from receiving providers (ARF, RFC 5965): a multipart/report with
// report-type=feedback-report whose second part (message/feedback-report) says what kind of
// complaint it is and whose third part is the original message or its header. We need the
// original's Message-ID to find which of our accounts sent it.
import { parseMessage } from '../../mime/index.js';
import { splitHeader, fieldValue } from '../../mime/headers.js';

export interface FeedbackReport {
  /** abuse, fraud, virus, other, not-spam… (RFC 5965 §7.3); lower-case. */
  feedbackType: string;
  /** Message-ID of the reported message, with angle brackets, or null. */
  messageId: string | null;
  originalMailFrom: string | null;
  originalRcptTo: string | null;
}

/** The report in a message, or null when the message is not an ARF report. */
export function parseFeedbackReport(raw: Buffer): FeedbackReport | null {
  const root = parseMessage(raw).tree;
  if (root.type !== 'multipart' || root.subtype !== 'report') return null;
  const reportType = root.params.find(([k]) => k === 'report-type')?.[1]?.toLowerCase();
  if (reportType !== 'feedback-report') return null;
  const parts = root.parts ?? [];
  const fb = parts.find((p) => p.type === 'message' && p.subtype === 'feedback-report');
  if (!fb) return null;
  const fields = headerFields(raw, fb.bodyStart, fb.bodyEnd);
  const original = parts.find((p) => (p.type === 'message' && (p.subtype === 'rfc822' || p.subtype === 'global')) || (p.type === 'text' && p.subtype === 'rfc822-headers'));
  let messageId: string | null = null;
  if (original) {
    const start = original.message ? original.message.part.headerStart : original.bodyStart;
    const id = headerFields(raw, start, original.bodyEnd).get('message-id');
    if (id) messageId = /<[^<>\s]+>/.exec(id)?.[0] ?? null;
  }
  return {
    feedbackType: (fields.get('feedback-type') ?? 'other').trim().toLowerCase(),
    messageId,
    originalMailFrom: fields.get('original-mail-from')?.trim() ?? null,
    originalRcptTo: fields.get('original-rcpt-to')?.trim() ?? null,
  };
}

function headerFields(raw: Buffer, start: number, end: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of splitHeader(raw, start, end, null, false).fields) if (!out.has(f.name)) out.set(f.name, fieldValue(raw, f));
  return out;
}

