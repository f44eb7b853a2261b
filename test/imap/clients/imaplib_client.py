"""Drives Fjord's IMAP server with Python's standard imaplib and prints what it saw as JSON.

Used by python-imaplib.test.ts, which seeds the mailbox, runs this script and checks both the
JSON (what the client got) and the store (what the server did). Arguments:
  imaplib_client.py PORT IMAPS_PORT USER PASSWORD APPEND_FILE
"""
import base64
import imaplib
import json
import re
import ssl
import sys
import time

port, imaps_port, user, password, append_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
out = {}


def check(typ, data, what):
    if typ != 'OK':
        raise SystemExit(f'{what} failed: {typ} {data!r}')
    return data


def b64(b):
    return base64.b64encode(b).decode('ascii')


def fetch_parts(data):
    """imaplib FETCH data -> list of (header line bytes, literal bytes) for literal-carrying items."""
    return [(item[0], item[1]) for item in data if isinstance(item, tuple)]


# ---- Plain connection on the loopback (plain-text login allowed there) ----
M = imaplib.IMAP4('127.0.0.1', port)
out['greeting_caps'] = sorted(M.capabilities)
check(*M.login(user, password), 'LOGIN')
out['state_after_login'] = M.state
typ, data = M.capability()
check(typ, data, 'CAPABILITY')
out['caps'] = sorted(data[0].decode().split())

typ, data = M.list()
check(typ, data, 'LIST')
out['list'] = [d.decode('utf-8') for d in data]

typ, data = M.select('INBOX')
check(typ, data, 'SELECT')
out['select_exists'] = int(data[0])

out['search_all'] = check(*M.search(None, 'ALL'), 'SEARCH ALL')[0].decode()
out['search_unseen'] = check(*M.search(None, 'UNSEEN'), 'SEARCH UNSEEN')[0].decode()
out['search_subject'] = check(*M.search(None, 'SUBJECT', '"Plain message"'), 'SEARCH SUBJECT')[0].decode()
out['uid_search_from'] = check(*M.uid('SEARCH', 'FROM', 'jorgen@example.no'), 'UID SEARCH FROM')[0].decode()
# A UTF-8 search term goes as a literal with CHARSET UTF-8 (the documented imaplib way).
M.literal = 'Møtet'.encode('utf-8')
out['search_utf8_body'] = check(*M.search('UTF-8', 'BODY'), 'SEARCH CHARSET UTF-8')[0].decode()

# RFC822 of every message, and the metadata.
typ, data = M.fetch('1:*', '(RFC822)')
check(typ, data, 'FETCH RFC822')
out['rfc822'] = [b64(lit) for _, lit in fetch_parts(data)]
typ, data = M.fetch('1:*', '(UID FLAGS RFC822.SIZE)')
check(typ, data, 'FETCH UID FLAGS')
meta = []
for line in data:
    s = line.decode()
    m = re.match(r'(\d+) \((.*)\)$', s)
    uid = re.search(r'UID (\d+)', s)
    size = re.search(r'RFC822\.SIZE (\d+)', s)
    flags = re.search(r'FLAGS \(([^)]*)\)', s)
    meta.append({'seq': int(m.group(1)), 'uid': int(uid.group(1)), 'size': int(size.group(1)), 'flags': sorted(flags.group(1).split())})
out['meta'] = meta
# Partial fetch of one header field.
typ, data = M.fetch('2', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
check(typ, data, 'FETCH HEADER.FIELDS')
out['subject_header'] = b64(fetch_parts(data)[0][1])

# STORE
typ, data = M.store('1', '+FLAGS', '(\\Flagged $Important)')
check(typ, data, 'STORE +FLAGS')
out['store_reply'] = [d.decode() for d in data if d]
typ, data = M.store('1', '-FLAGS.SILENT', '(\\Seen)')
check(typ, data, 'STORE -FLAGS.SILENT')
out['store_silent_reply'] = [d.decode() for d in data if d]

# COPY (with the COPYUID response code of UIDPLUS)
typ, data = M.copy('1:2', 'Archive')
check(typ, data, 'COPY')
out['copy_reply'] = data[0].decode()
typ, data = M.uid('COPY', '3', 'Trash')
check(typ, data, 'UID COPY')
# imaplib files response codes of the tagged reply under their name.
typ, data = M.response('COPYUID')
out['uid_copy_reply'] = data[-1].decode()

# Delete two messages and EXPUNGE: the untagged EXPUNGE responses (sequence numbers).
check(*M.store('2,4', '+FLAGS', '(\\Deleted)'), 'STORE \\Deleted')
typ, data = M.expunge()
check(typ, data, 'EXPUNGE')
out['expunged'] = [int(d) for d in data if d is not None]

# APPEND with flags and an internal date (APPENDUID response code).
raw = open(append_file, 'rb').read()
typ, data = M.append('INBOX', '(\\Seen \\Draft)', imaplib.Time2Internaldate(time.mktime((2024, 5, 17, 12, 0, 0, 0, 0, -1))), raw)
check(typ, data, 'APPEND')
out['append_reply'] = data[0].decode()
typ, data = M.noop()
out['exists_after_append'] = int(M.untagged_responses['EXISTS'][-1]) if 'EXISTS' in M.untagged_responses else None

check(*M.close(), 'CLOSE')
typ, data = M.logout()
out['logout'] = typ

# ---- STARTTLS on the same port ----
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
S = imaplib.IMAP4('127.0.0.1', port)
check(*S.starttls(ssl_context=ctx), 'STARTTLS')
out['starttls_cipher'] = S.sock.cipher()[1]
check(*S.login(user, password), 'LOGIN after STARTTLS')
typ, data = S.status('INBOX', '(MESSAGES UIDNEXT UNSEEN)')
check(typ, data, 'STATUS')
out['status'] = data[0].decode('utf-8')
S.logout()

# ---- Implicit TLS (IMAP4_SSL) on the imaps port ----
T = imaplib.IMAP4_SSL('127.0.0.1', imaps_port, ssl_context=ctx)
out['ssl_cipher'] = T.sock.cipher()[1]
check(*T.login(user, password), 'LOGIN over TLS')
typ, data = T.select('INBOX', readonly=True)
check(typ, data, 'EXAMINE')
out['ssl_exists'] = int(data[0])
typ, data = T.uid('FETCH', '1', '(BODY.PEEK[])')
check(typ, data, 'UID FETCH BODY.PEEK[]')
out['ssl_uid1'] = b64(fetch_parts(data)[0][1])
T.logout()

print(json.dumps(out))
