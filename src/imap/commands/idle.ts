// IDLE (RFC 2177): announce changes to the selected mailbox as they happen until DONE.
import type { Command } from '../parser/types.js';
import type { Session } from '../session.js';

export async function idle(s: Session, cmd: Command): Promise<void> {
  if (cmd.args.length > 0) return s.bad(cmd.tag, 'IDLE takes no arguments');
  s.send('+ idling');
  await s.announce(true);
  s.flush();
  let wake: (() => void) | null = null;
  let pending = false;
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
        s.flush();
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
