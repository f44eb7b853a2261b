// `fjord account sending ACCOUNT [--unfreeze] [--json]`: the account's sending counters against
// its limits, its bulk score with each signal, and whether sending is frozen (and why);
// --unfreeze lifts a freeze and forgives what was counted before it.
// `fjord account identity ACCOUNT [add|remove ADDRESS]`: extra addresses it may send as.
import type { Config } from '../../config/config.js';
import { limitsFor } from '../../config/outbound.js';
import type { Store } from '../../store/types.js';
import { bulkScore } from '../../limits/sending/score.js';
import { isValidAddress } from '../../routing/resolve.js';
import { UsageError } from '../args.js';
import { withStore } from './with-store.js';

async function accountOf(store: Store, address: string) {
  const a = await store.getAccount(address);
  if (!a) throw new UsageError(`unknown account ${address}`);
  return a;
}

export async function sendingCommand(config: Config, address: string, o: { unfreeze: boolean; json: boolean }): Promise<void> {
  await withStore(config, async (store) => {
    const a = await accountOf(store, address);
    const now = new Date();
    if (o.unfreeze) {
      await store.setSendingState(a.id, { frozenAt: null, reason: null, countFrom: now });
      console.log(`sending unfrozen for ${a.address} (earlier counts forgiven)`);
    }
    const state = await store.getSendingState(a.id);
    const stats = await store.sendingStats(a.id, now, config.sending.windowSeconds);
    const lim = limitsFor(config.sending, a.address);
    const score = bulkScore(stats);
    if (o.json) {
      console.log(JSON.stringify({ account: a.address, state: state.frozenAt ? 'frozen' : 'active', frozenAt: state.frozenAt, reason: state.reason, limits: lim, counters: stats, score: score.total, freezeAt: config.sending.freezeScore, signals: score.parts }));
      return;
    }
    console.log(`${a.address}: ${state.frozenAt ? `FROZEN since ${state.frozenAt.toISOString()}\n  reason: ${state.reason}` : 'sending active'}`);
    console.log(`  messages last hour   ${stats.messagesLastHour} of ${lim.messagesPerHour}`);
    console.log(`  messages last day    ${stats.messagesLastDay} of ${lim.messagesPerDay}`);
    console.log(`  recipients last day  ${stats.recipientsLastDay} of ${lim.distinctRecipientsPerDay} (distinct)`);
    console.log(`  recipients/message   at most ${lim.recipientsPerMessage}`);
    const w = stats.window;
    console.log(`  since ${w.since.toISOString()}: ${w.recipients} recipients (${w.newRecipients} new, ${w.bulkRecipients} with bulk headers), ${w.bounces} bounces, ${w.complaints} complaints`);
    console.log(`  bulk score ${score.total} (freezes at ${config.sending.freezeScore})`);
    for (const p of score.parts) console.log(`    ${p.signal.padEnd(15)} ${String(p.points).padStart(5)}  ${p.detail}`);
  });
}

export async function identityCommand(config: Config, address: string, op: string | undefined, identity: string | undefined): Promise<void> {
  await withStore(config, async (store) => {
    const a = await accountOf(store, address);
    if (op === 'add' || op === 'remove') {
      if (!identity || !isValidAddress(identity)) throw new UsageError(`fjord account identity ${a.address} ${op} ADDRESS: a valid address is needed`);
      await store.setSendingIdentity(a.id, identity, op === 'add');
      console.log(`${a.address} ${op === 'add' ? 'may now send as' : 'may no longer send as'} ${identity.toLowerCase()}`);
    } else if (op !== undefined) {
      throw new UsageError('fjord account identity ACCOUNT [add|remove ADDRESS]');
    }
    const list = await store.listSendingIdentities(a.id);
    console.log(`${a.address} sends as itself, its aliases${list.length ? `, and: ${list.join(', ')}` : ' (no extra identities)'}`);
  });
}
