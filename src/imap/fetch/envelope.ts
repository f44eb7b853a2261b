// FETCH ENVELOPE (RFC 9051 §7.5.2, RFC 3501 §7.4.2) from the Envelope stored at delivery.
import type { Envelope, EnvelopeAddress } from '../../mime/types.js';
import { type Chunk, type StringOptions, nstring, push } from './serialize.js';

function address(out: Chunk[], a: EnvelopeAddress, opts: StringOptions): void {
  push(out, '(', ...nstring(a.name, opts), ' ', ...nstring(a.adl, opts), ' ',
    ...nstring(a.mailbox, opts), ' ', ...nstring(a.host, opts), ')');
}

/** An address list: `((name adl mailbox host)...)`, or NIL when absent. An empty array is
 * also NIL, since the grammar requires at least one address inside the parentheses. Group
 * markers (mailbox=name/host=NIL to open, mailbox=NIL/host=NIL to close) pass through. */
export function addressList(out: Chunk[], list: EnvelopeAddress[] | null, opts: StringOptions): void {
  if (list === null || list.length === 0) { push(out, 'NIL'); return; }
  push(out, '(');
  for (const a of list) address(out, a, opts);
  push(out, ')');
}

/** Appends the ENVELOPE list (without the "ENVELOPE " label) to `out`. */
export function writeEnvelope(out: Chunk[], env: Envelope, opts: StringOptions): void {
  push(out, '(', ...nstring(env.date, opts), ' ', ...nstring(env.subject, opts), ' ');
  addressList(out, env.from, opts); push(out, ' ');
  addressList(out, env.sender, opts); push(out, ' ');
  addressList(out, env.replyTo, opts); push(out, ' ');
  addressList(out, env.to, opts); push(out, ' ');
  addressList(out, env.cc, opts); push(out, ' ');
  addressList(out, env.bcc, opts); push(out, ' ');
  push(out, ...nstring(env.inReplyTo, opts), ' ', ...nstring(env.messageId, opts), ')');
}

/** The ENVELOPE parenthesised list. Values are sent as stored (raw, encoded-words intact);
 * sender/reply-to defaulting to from is the parser's job (see mime/types.ts). */
export function envelopeResponse(env: Envelope, opts: StringOptions): Chunk[] {
  const out: Chunk[] = [];
  writeEnvelope(out, env, opts);
  return out;
}
