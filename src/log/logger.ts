// Structured logs (pino, JSON lines on stdout). Never log passwords, hashes or message bodies.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'fjord'): Logger {
  return pino({
    name,
    level,
    redact: { paths: ['password', '*.password', 'passwordHash', '*.passwordHash', 'pass', '*.pass'], censor: '[redacted]' },
  });
}

/** A logger that discards everything (admin commands, tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
