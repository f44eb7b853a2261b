// Signs that the sending software lies about itself. Outlook and Outlook Express build their
// Message-ID from the moment the message was written: <CCCCHHHHHHHH$LLLLLLLL$XXXXXXXX@host>
// (Outlook 2010 and later add a '$' before the '@'), where HHHHHHHH and LLLLLLLL are the high and low halves of a Windows FILETIME (100 ns ticks
// since 1601-01-01 UTC). The same program writes the Date header, so the two agree to within
// the time zone mistakes a PC can make. Bulk-mail software that imitates the format fills it
// with counters or random hex, and the clock it encodes is years away from the Date.

const OUTLOOK_MSGID = /^\s*<[0-9a-f]{4}([0-9a-f]{8})\$([0-9a-f]{8})\$[0-9a-f]{8}\$?@/i;
/** Milliseconds between 1601-01-01 and 1970-01-01. */
const FILETIME_EPOCH_MS = 11_644_473_600_000;

/** Hours between the clock in an Outlook-style Message-ID and the Date header; null when the
 * Message-ID is not in that form or there is no usable Date. */
export function outlookMsgidSkewHours(messageId: string | undefined, date: Date | null): number | null {
  if (messageId === undefined || date === null || Number.isNaN(date.getTime())) return null;
  const m = OUTLOOK_MSGID.exec(messageId);
  if (m === null) return null;
  // 2^32 ticks of 100 ns = 429,496.7296 ms; exact enough in doubles for any real date.
  const ms = (parseInt(m[1], 16) * 4294967296 + parseInt(m[2], 16)) / 10_000 - FILETIME_EPOCH_MS;
  return Math.abs(ms - date.getTime()) / 3_600_000;
}
