// IDLE (RFC 2177): announce changes to the selected mailbox as they happen until DONE.
import type { Command } from '../parser/types.js';
import type { Session } from '../session.js';

export async function idle(s: Session, cmd: Command): Promise<void> {
  if (cmd.args.length > 0) return s.bad(cmd.tag, 'IDLE takes no arguments');
  s.send('+ idling');
  // Listen before the first update pass: a change committed during it must wake us again.
  let wake: (() => void) | null = null;
  let pending = true;
  s.onAccountChange = () => {
    pending = true;
    wake?.();
  };
  const line = s.readLine();
  let ended: Buffer | null | undefined;
  void line.then((l) => {
    ended = l;
    wake?.();
  });
  try {
    while (ended === undefined) {
      if (pending) {
        pending = false;
        await s.announce(true);
        // A client that stops reading holds at most the output bound; later updates merge,
        // since flags are re-read from the store when the client catches up.
        await s.drained();
        continue;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  } finally {
    s.onAccountChange = null;
  }
  if (ended === null || s.isClosed) return;
  if (ended.toString('latin1').trim().toUpperCase() !== 'DONE') return s.bad(cmd.tag, 'Expected DONE');
  await s.announce(true);
  s.ok(cmd.tag, 'IDLE terminated');
}
