// `fjord queue`: look into and steer the outbound queue (<data>/queue/outbound.db), also while
// the server runs — its sender polls the database, so retry/hold/release/delete take effect
// within about a second.
import { parse, configFrom, need, UsageError } from '../args.js';
import { OutboundQueue } from '../../smtp/outbound/queue.js';
import { headerBlock } from '../../smtp/outbound/dsn.js';
import type { QueuedMessage, QueuedRecipient } from '../../smtp/outbound/types.js';

export const usage = `fjord queue list [--json]              (outbound queue: id, age, size, sender, recipients)
fjord queue show ID [--json]
fjord queue retry [ID]                 (pending recipients of ID, or of every message, due now)
fjord queue hold ID | release ID | delete ID`;

function age(from: Date, now: number): string {
  let s = Math.max(0, Math.round((now - from.getTime()) / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d) return `${d}d${h}h`;
  if (h) return `${h}h${m}m`;
  if (m) return `${m}m${s}s`;
  return `${s}s`;
}

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function when(d: Date | null, now: number): string {
  if (!d) return '-';
  const rel = d.getTime() <= now ? 'now' : `in ${age(new Date(now), d.getTime())}`;
  return `${d.toISOString().replace(/\.\d{3}Z$/, 'Z')} (${rel})`;
}

function rcptLine(r: QueuedRecipient, now: number): string {
  const parts = [r.state.padEnd(9), r.address, `attempts=${r.attempts}`];
  if (r.state === 'pending') parts.push(`next=${when(r.nextAttemptAt, now)}`);
  if (r.lastReply) parts.push(`last: ${r.lastReply}`);
  return '    ' + parts.join('  ');
}

function toJson(m: QueuedMessage) {
  return {
    id: m.id,
    mailFrom: m.mailFrom,
    accountId: m.accountId,
    size: m.size,
    createdAt: m.createdAt.toISOString(),
    ret: m.ret,
    envid: m.envid,
    delayWarned: m.delayWarned,
    recipients: m.recipients.map((r) => ({
      address: r.address,
      state: r.state,
      attempts: r.attempts,
      nextAttemptAt: r.nextAttemptAt?.toISOString() ?? null,
      lastAttemptAt: r.lastAttemptAt?.toISOString() ?? null,
      lastReply: r.lastReply,
      remoteMta: r.remoteMta,
      status: r.status,
      notify: r.notify,
      orcpt: r.orcpt,
    })),
  };
}

function list(queue: OutboundQueue, json: boolean): void {
  const all = queue.list();
  if (json) {
    for (const m of all) console.log(JSON.stringify(toJson(m)));
    return;
  }
  if (!all.length) {
    console.log('outbound queue is empty');
    return;
  }
  const now = Date.now();
  const counts = new Map<string, number>();
  console.log(`${'ID'.padEnd(20)} ${'AGE'.padEnd(8)} ${'SIZE'.padEnd(9)} SENDER`);
  for (const m of all) {
    console.log(`${m.id.padEnd(20)} ${age(m.createdAt, now).padEnd(8)} ${size(m.size).padEnd(9)} <${m.mailFrom}>`);
    for (const r of m.recipients) {
      console.log(rcptLine(r, now));
      counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
    }
  }
  const rcpts = all.reduce((n, m) => n + m.recipients.length, 0);
  const summary = [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
  console.log(`-- ${all.length} message${all.length === 1 ? '' : 's'}, ${rcpts} recipient${rcpts === 1 ? '' : 's'} (${summary})`);
}

async function show(queue: OutboundQueue, id: string, json: boolean): Promise<void> {
  const m = queue.show(id);
  if (!m) throw new Error(`no such queued message: ${id}`);
  let headers = '';
  try {
    headers = headerBlock(await queue.readBody(id)).toString('utf8');
  } catch {
    headers = '(message body unreadable)';
  }
  if (json) {
    console.log(JSON.stringify({ ...toJson(m), headers }));
    return;
  }
  const now = Date.now();
  const lines = [
    `Queue ID:  ${m.id}`,
    `Sender:    <${m.mailFrom}>${m.accountId !== null ? `  (account #${m.accountId})` : '  (system mail)'}`,
    `Queued:    ${m.createdAt.toISOString()} (${age(m.createdAt, now)} ago)`,
    `Size:      ${m.size} bytes${m.eightBit ? ', 8-bit' : ''}`,
  ];
  if (m.ret || m.envid) lines.push(`DSN:       ${m.ret ? `RET=${m.ret}` : ''}${m.ret && m.envid ? ' ' : ''}${m.envid ? `ENVID=${m.envid}` : ''}`);
  lines.push(`Delay warning: ${m.delayWarned ? 'done' : 'not yet'}`, 'Recipients:');
  for (const r of m.recipients) {
    lines.push(`  ${r.address}`, `    state ${r.state}, ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}${r.state === 'pending' ? `, next ${when(r.nextAttemptAt, now)}` : ''}`);
    if (r.lastAttemptAt) lines.push(`    last attempt ${r.lastAttemptAt.toISOString()}${r.remoteMta ? ` via ${r.remoteMta}` : ''}`);
    if (r.lastReply) lines.push(`    last reply: ${r.lastReply}`);
    if (r.notify || r.orcpt) lines.push(`    ${r.notify ? `NOTIFY=${r.notify.join(',')}` : ''}${r.notify && r.orcpt ? ' ' : ''}${r.orcpt ? `ORCPT=${r.orcpt}` : ''}`);
  }
  lines.push('Headers:', ...headers.replace(/\r?\n$/, '').split(/\r?\n/).map((l) => `  ${l}`));
  console.log(lines.join('\n'));
}

export async function queueCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parse(argv, { json: { type: 'boolean' } });
  const [sub] = positionals;
  const config = configFrom(values);
  const queue = OutboundQueue.open(config.dataDir);
  try {
    switch (sub) {
      case 'list':
        return list(queue, !!values.json);
      case 'show':
        return await show(queue, need(positionals, 1, 'queue id'), !!values.json);
      case 'retry': {
        const id = positionals[1];
        if (id !== undefined && !queue.show(id)) throw new Error(`no such queued message: ${id}`);
        const n = queue.retry(id);
        console.log(`${n} pending recipient${n === 1 ? '' : 's'}${id ? ` of ${id}` : ''} due now`);
        return;
      }
      case 'hold':
      case 'release': {
        const id = need(positionals, 1, 'queue id');
        if (!queue.show(id)) throw new Error(`no such queued message: ${id}`);
        const n = sub === 'hold' ? queue.hold(id) : queue.release(id);
        console.log(`${id}: ${n} recipient${n === 1 ? '' : 's'} ${sub === 'hold' ? 'held' : 'released'}`);
        return;
      }
      case 'delete': {
        const id = need(positionals, 1, 'queue id');
        if (!queue.delete(id)) throw new Error(`no such queued message: ${id}`);
        console.log(`${id} deleted (no notification sent)`);
        return;
      }
      default:
        throw new UsageError(usage);
    }
  } finally {
    queue.close();
  }
}
