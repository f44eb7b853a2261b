# Python's poplib against the server. Usage:
#   poplib_client.py MODE PORT USER PASSWORD [DELETE]
# MODE: plain (USER/PASS), stls (STLS then USER/PASS), ssl (POP3_SSL), sasl (AUTH PLAIN via _shortcmd).
# Downloads everything (RETR), lists UIDL/LIST/STAT, deletes the messages numbered in DELETE
# ("all" or comma-separated) and QUITs. Prints JSON; messages base64.
import base64, json, poplib, ssl, sys

mode, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
delete = sys.argv[5] if len(sys.argv) > 5 else ''
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
out = {}
if mode == 'ssl':
    p = poplib.POP3_SSL('127.0.0.1', port, context=ctx, timeout=30)
else:
    p = poplib.POP3('127.0.0.1', port, timeout=30)
out['welcome'] = p.getwelcome().decode()
out['capa'] = sorted(p.capa().keys())
if mode == 'stls':
    out['stls'] = p.stls(context=ctx).decode()
    out['capa_tls'] = sorted(p.capa().keys())
if mode == 'sasl':
    out['login'] = p._shortcmd('AUTH PLAIN ' + base64.b64encode(b'\0' + user.encode() + b'\0' + password.encode()).decode()).decode()
else:
    p.user(user)
    out['login'] = p.pass_(password).decode()
out['cipher'] = p.sock.version() if hasattr(p.sock, 'version') else None
count, octets = p.stat()
out['stat'] = [count, octets]
resp, lines, _ = p.list()
out['list'] = [l.decode() for l in lines]
resp, lines, _ = p.uidl()
out['uidl'] = [l.decode() for l in lines]
msgs = []
for i in range(1, count + 1):
    resp, lines, size = p.retr(i)
    msgs.append({'resp': resp.decode(), 'size': size, 'raw': base64.b64encode(b''.join(l + b'\r\n' for l in lines)).decode()})
out['msgs'] = msgs
if count:
    resp, lines, _ = p.top(1, 0)
    out['top1'] = [l.decode('utf-8', 'replace') for l in lines]
targets = range(1, count + 1) if delete == 'all' else [int(x) for x in delete.split(',') if x]
out['deleted'] = [p.dele(i).decode() for i in targets]
out['quit'] = p.quit().decode()
print(json.dumps(out))
