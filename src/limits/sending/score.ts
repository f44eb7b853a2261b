// The bulk score of an account: points for each sign of bulk mailing seen over the sliding
// window, so that one sign alone (a newsletter header, a few bounces) does not freeze anybody,
// but a mailing operation quickly does. Every component is reported, so a freeze can be
// explained to the customer and the admin.
import type { SendingStats } from '../../store/types.js';

export interface ScorePart {
  signal: string;
  points: number;
  detail: string;
}

/** Points per signal. A newsletter to 100 new addresses scores about 100 + 90 + 25 = 215. */
export const BULK_POINTS = {
  /** Per recipient of a message with List-Unsubscribe or Precedence: bulk/list/junk. */
  bulkHeaderRecipient: 1,
  /** One body reaching more than this many distinct people counts as a mailing... */
  fanoutFree: 10,
  /** ...at this many points per recipient beyond it. */
  fanoutRecipient: 1,
  /** New-recipient share is judged once the window has this many recipients... */
  newShareMinRecipients: 20,
  /** ...and scores (share - threshold) × this. */
  newShareThreshold: 0.5,
  newShareWeight: 100,
  /** Per bounced recipient, and a surcharge when bounces exceed this share of recipients. */
  bounce: 5,
  bounceRateThreshold: 0.1,
  bounceRateMinRecipients: 10,
  bounceRateSurcharge: 30,
  /** Per complaint (ARF report) from a receiving provider. */
  complaint: 25,
};

export function bulkScore(s: SendingStats, p = BULK_POINTS): { total: number; parts: ScorePart[] } {
  const w = s.window;
  const parts: ScorePart[] = [];
  if (w.bulkRecipients > 0) {
    parts.push({ signal: 'bulk-headers', points: w.bulkRecipients * p.bulkHeaderRecipient, detail: `${w.bulkRecipients} recipients of messages with List-Unsubscribe or Precedence: bulk` });
  }
  const fan = w.fanout.reduce((n, f) => n + Math.max(0, f.recipients - p.fanoutFree), 0);
  if (fan > 0) {
    const top = w.fanout[0];
    parts.push({ signal: 'same-body', points: fan * p.fanoutRecipient, detail: `one body sent to ${top.recipients} distinct recipients (more than ${p.fanoutFree} counts)` });
  }
  if (w.recipients >= p.newShareMinRecipients) {
    const share = w.newRecipients / w.recipients;
    if (share > p.newShareThreshold) {
      parts.push({ signal: 'new-recipients', points: Math.round((share - p.newShareThreshold) * p.newShareWeight), detail: `${Math.round(share * 100)}% of ${w.recipients} recipients never written to before` });
    }
  }
  if (w.bounces > 0) {
    parts.push({ signal: 'bounces', points: w.bounces * p.bounce, detail: `${w.bounces} recipients bounced` });
    if (w.recipients >= p.bounceRateMinRecipients && w.bounces / w.recipients > p.bounceRateThreshold) {
      parts.push({ signal: 'bounce-rate', points: p.bounceRateSurcharge, detail: `bounce rate ${Math.round((w.bounces / w.recipients) * 100)}% (over ${p.bounceRateThreshold * 100}%)` });
    }
  }
  if (w.complaints > 0) parts.push({ signal: 'complaints', points: w.complaints * p.complaint, detail: `${w.complaints} spam complaints (ARF) from receivers` });
  return { total: parts.reduce((n, x) => n + x.points, 0), parts };
}
