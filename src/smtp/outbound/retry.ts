// When a deferred recipient is tried again: config.outbound.retrySchedule (seconds, the last
// delay repeats) until giveUpAfter seconds after the message was queued. The last attempt is
// made at the deadline itself, so a recipient is never given up earlier than promised.
import type { OutboundConfig } from '../../config/outbound.js';

export type RetryDecision = { giveUp: true } | { giveUp: false; at: number };

/** attempts: how many attempts have been made, including the one that just deferred. */
export function nextAttempt(cfg: Pick<OutboundConfig, 'retrySchedule' | 'giveUpAfter'>, createdAt: number, attempts: number, now: number): RetryDecision {
  const deadline = createdAt + cfg.giveUpAfter * 1000;
  if (now >= deadline) return { giveUp: true };
  const schedule = cfg.retrySchedule.length ? cfg.retrySchedule : [300];
  const delay = schedule[Math.min(Math.max(attempts, 1), schedule.length) - 1] * 1000;
  return { giveUp: false, at: Math.min(now + delay, deadline) };
}
