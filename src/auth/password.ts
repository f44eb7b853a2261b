// Password hashing: argon2id with parameters above OWASP's minimum (19 MiB, t=2).
import argon2 from 'argon2';
import { randomBytes } from 'node:crypto';

const OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

export async function hashPassword(password: string): Promise<string> {
  if (password.length === 0) throw new Error('password must not be empty');
  if (Buffer.byteLength(password) > 1024) throw new Error('password is too long (1024 bytes at most)');
  return argon2.hash(password, OPTIONS);
}

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  if (!hash.startsWith('$argon2')) return false;
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

/** A random password that is easy to copy (base64url, 128 bits). */
export function generatePassword(): string {
  return randomBytes(16).toString('base64url');
}
