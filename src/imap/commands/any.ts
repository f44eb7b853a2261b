// Commands valid in every state (CAPABILITY, NOOP, LOGOUT, ID) and the small authenticated-state
// ones (ENABLE, NAMESPACE).
import type { Command } from '../parser/types.js';
import { tokenString } from '../parser/tokens.js';
import type { Session } from '../session.js';
import { ENABLEABLE } from '../capabilities.js';
import { quoted } from './args.js';

export async function capability(s: Session, cmd: Command): Promise<void> {
  if (cmd.args.length > 0) return s.bad(cmd.tag, 'CAPABILITY takes no arguments');
  s.send(`* CAPABILITY ${s.capabilities().join(' ')}`);
  s.ok(cmd.tag, 'CAPABILITY completed');
}

export async function noop(s: Session, cmd: Command): Promise<void> {
  if (cmd.args.length > 0) return s.bad(cmd.tag, `${cmd.name} takes no arguments`);
  await s.announce(true);
  s.ok(cmd.tag, `${cmd.name} completed`);
}

export async function logout(s: Session, cmd: Command): Promise<void> {
  if (cmd.args.length > 0) return s.bad(cmd.tag, 'LOGOUT takes no arguments');
  s.send('* BYE Logging out');
  s.ok(cmd.tag, 'LOGOUT completed');
  s.close();
}

export async function id(s: Session, cmd: Command): Promise<void> {
  const arg = cmd.args[0];
  if (cmd.args.length !== 1 || !(arg?.type === 'nil' || arg?.type === 'list')) return s.bad(cmd.tag, 'ID expects NIL or a list');
  if (arg.type === 'list') {
    if (arg.items.length % 2 !== 0 || arg.items.length > 60) return s.bad(cmd.tag, 'Invalid ID parameters');
    const fields: Record<string, string | null> = {};
    for (let i = 0; i < arg.items.length; i += 2) {
      const k = tokenString(arg.items[i]);
      if (k === null) return s.bad(cmd.tag, 'Invalid ID parameters');
      fields[k.slice(0, 30).toLowerCase()] = (tokenString(arg.items[i + 1]) ?? null)?.slice(0, 256) ?? null;
    }
    s.log.debug({ client: fields }, 'client id');
  }
  s.send(`* ID (${['name', 'Fjord Mail', 'vendor', 'Fjord', 'support-url', 'https://fjord.example/'].map((v) => quoted(v, false)).join(' ')})`);
  s.ok(cmd.tag, 'ID completed');
}

export async function enable(s: Session, cmd: Command): Promise<void> {
  if (cmd.args.length === 0) return s.bad(cmd.tag, 'ENABLE needs at least one extension');
  const newly: string[] = [];
  for (const t of cmd.args) {
    if (t.type !== 'atom') return s.bad(cmd.tag, 'Invalid ENABLE argument');
    const ext = t.value.toUpperCase();
    if (!ENABLEABLE.has(ext) || s.enabled.has(ext)) continue;
    s.enabled.add(ext);
    if (ext === 'QRESYNC') s.enabled.add('CONDSTORE');
    newly.push(t.value);
  }
  s.send(`* ENABLED${newly.map((e) => ' ' + e).join('')}`);
  s.ok(cmd.tag, 'ENABLE completed');
}

export async function namespace(s: Session, cmd: Command): Promise<void> {
  if (cmd.args.length > 0) return s.bad(cmd.tag, 'NAMESPACE takes no arguments');
  s.send('* NAMESPACE (("" "/")) NIL NIL');
  s.ok(cmd.tag, 'NAMESPACE completed');
}
