// Not-authenticated state: STARTTLS, LOGIN and AUTHENTICATE PLAIN (with SASL-IR).
import type { Command } from '../parser/types.js';
import { tokenString } from '../parser/tokens.js';
import type { Session } from '../session.js';

const MAX_AUTH_FAILURES = 3;

export async function starttls(s: Session, cmd: Command): Promise<void> {
  if (s.secure) return s.bad(cmd.tag, 'TLS is already active');
  if (cmd.args.length > 0) return s.bad(cmd.tag, 'STARTTLS takes no arguments');
  s.ok(cmd.tag, 'Begin TLS negotiation now');
  s.flush();
  s.startTls();
}

export async function login(s: Session, cmd: Command): Promise<void> {
  if (cmd.args.length !== 2) return s.bad(cmd.tag, 'LOGIN expects a user name and a password');
  const user = tokenString(cmd.args[0]);
  const pass = tokenString(cmd.args[1]);
  if (user === null || pass === null) return s.bad(cmd.tag, 'LOGIN expects a user name and a password');
  if (!s.plaintextAuthAllowed) return s.no(cmd.tag, '[PRIVACYREQUIRED] Use STARTTLS (or port 993) before logging in');
  await authenticate(s, cmd.tag, user, pass);
}

export async function authenticateCommand(s: Session, cmd: Command): Promise<void> {
  const mech = tokenString(cmd.args[0])?.toUpperCase();
  if (!mech || cmd.args.length > 2) return s.bad(cmd.tag, 'AUTHENTICATE expects a mechanism');
  if (mech !== 'PLAIN') return s.no(cmd.tag, 'Unsupported authentication mechanism');
  if (!s.plaintextAuthAllowed) return s.no(cmd.tag, '[PRIVACYREQUIRED] Use STARTTLS (or port 993) before logging in');
  let response: string | null;
  if (cmd.args.length === 2) {
    response = tokenString(cmd.args[1]);
    if (response === '=') response = '';
  } else {
    s.send('+ ');
    const line = await s.readLine();
    if (line === null) return;
    response = line.toString('latin1');
  }
  if (response === '*') return s.bad(cmd.tag, 'Authentication cancelled');
  if (response === null || !/^[A-Za-z0-9+/]*={0,2}$/.test(response) || response.length % 4 !== 0) {
    return s.bad(cmd.tag, 'Invalid base64 in authentication response');
  }
  const parts = Buffer.from(response, 'base64').toString('utf8').split('\0');
  // Valid base64 that is not a PLAIN message is a failed authentication, not a syntax error.
  if (parts.length !== 3) return failed(s, cmd.tag, '[AUTHENTICATIONFAILED] Authentication failed');
  const [authz, authc, pass] = parts as [string, string, string];
  if (authz !== '' && authz.toLowerCase() !== authc.toLowerCase()) {
    return failed(s, cmd.tag, '[AUTHORIZATIONFAILED] Authorization as another user is not allowed');
  }
  await authenticate(s, cmd.tag, authc, pass);
}

async function authenticate(s: Session, tag: string, user: string, pass: string): Promise<void> {
  const account = user.length <= 320 ? await s.ctx.store.getAccount(user.trim().toLowerCase()) : null;
  const ok = await s.ctx.passwords.verify(account, pass);
  if (!ok || !account) {
    s.log.info({ user: user.slice(0, 64) }, 'imap login failed');
    return failed(s, tag, '[AUTHENTICATIONFAILED] Authentication failed');
  }
  s.loggedIn(account);
  s.log.info({ user: account.address }, 'imap login');
  s.ok(tag, `[CAPABILITY ${s.capabilities().join(' ')}] Logged in`);
}

async function failed(s: Session, tag: string, text: string): Promise<void> {
  s.authFailures++;
  await new Promise((r) => setTimeout(r, s.ctx.config.imap.authFailureDelay));
  s.no(tag, text);
  if (s.authFailures >= MAX_AUTH_FAILURES) {
    s.send('* BYE Too many authentication failures');
    s.close();
  }
}
