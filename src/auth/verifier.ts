// Password checks for every protocol: Argon2id, at most one per core at a time (each costs
// 19 MiB and tens of milliseconds, so a login flood must queue rather than exhaust memory),
// concurrent checks of the same credentials share one computation, and recent successes are
// remembered by the login cache.
import os from 'node:os';
import { createHash } from 'node:crypto';
import { hashPassword, verifyPassword } from './password.js';
import { LoginCache } from './login-cache.js';

export class PasswordVerifier {
  private readonly cache = new LoginCache();
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private dummy: Promise<string> | null = null;

  constructor(private readonly maxParallel = Math.max(1, os.availableParallelism?.() ?? os.cpus().length)) {}

  /** Checks `password` against an account's stored hash (null: unknown user, which costs the
   * same as a wrong password so timing does not reveal which accounts exist). */
  async verify(account: { id: number; passwordHash: string } | null, password: string): Promise<boolean> {
    if (!account) {
      await this.limited(async () => verifyPassword(await (this.dummy ??= hashPassword('fjord-dummy-password')), password + '\0x'));
      return false;
    }
    if (this.cache.check(account.id, account.passwordHash, password)) return true;
    const key = createHash('sha256').update(`${account.id}\0${account.passwordHash}\0${password}`).digest('base64');
    let p = this.inFlight.get(key);
    if (!p) {
      p = this.limited(() => verifyPassword(account.passwordHash, password)).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, p);
    }
    const ok = await p;
    if (ok) this.cache.remember(account.id, account.passwordHash, password);
    return ok;
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.running >= this.maxParallel) await new Promise<void>((r) => this.waiting.push(r));
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
