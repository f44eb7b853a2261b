import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage, type Envelope } from '../../../src/mime/index.js';
import { envelopeResponse } from '../../../src/imap/fetch/envelope.js';
import { toBuffer } from '../../../src/imap/fetch/serialize.js';
import { parseValue, checkEnvelope } from './syntax.js';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'), 'utf8');

test('ENVELOPE with groups and encoded-words keeps raw values', () => {
  const raw = crlf([
    'Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)',
    'From: =?UTF-8?B?SsO2cmc=?= <jorg@example.com>',
    'To: Undisclosed recipients:;',
    'Cc: Team: a@example.com, "B \\"q\\"" <b@example.com>;, c@example.com',
    'Subject: =?ISO-8859-1?Q?caf=E9?= "quoted" \\ x',
    'Message-ID: <id1@example.com>',
    'In-Reply-To: <id0@example.com>',
    '', 'body', '']);
  const env = parseMessage(raw).envelope;
  const out = toBuffer(envelopeResponse(env, { utf8: false })).toString('latin1');
  const from = '(("=?UTF-8?B?SsO2cmc=?=" NIL "jorg" "example.com"))';
  assert.equal(out,
    '("Mon, 7 Feb 1994 21:52:25 -0800 (PST)" "=?ISO-8859-1?Q?caf=E9?= \\"quoted\\" \\\\ x" ' +
    `${from} ${from} ${from} ` +
    '((NIL NIL "Undisclosed recipients" NIL)(NIL NIL NIL NIL)) ' +
    '((NIL NIL "Team" NIL)(NIL NIL "a" "example.com")("B \\"q\\"" NIL "b" "example.com")(NIL NIL NIL NIL)(NIL NIL "c" "example.com")) ' +
    'NIL "<id0@example.com>" "<id1@example.com>")');
  checkEnvelope(parseValue(Buffer.from(out, 'latin1')));
});

test('ENVELOPE: all-NIL, empty address arrays and 8-bit values', () => {
  const env: Envelope = {
    date: null, subject: 'Grüße', from: [], sender: null, replyTo: null, to: null, cc: null, bcc: null,
    inReplyTo: null, messageId: null,
  };
  const rev1 = toBuffer(envelopeResponse(env, { utf8: false }));
  assert.equal(rev1.toString('utf8'), '(NIL {7}\r\nGrüße NIL NIL NIL NIL NIL NIL NIL NIL)');
  checkEnvelope(parseValue(rev1));
  const rev2 = toBuffer(envelopeResponse(env, { utf8: true }));
  assert.equal(rev2.toString('utf8'), '(NIL "Grüße" NIL NIL NIL NIL NIL NIL NIL NIL)');
  checkEnvelope(parseValue(rev2, true));
});
