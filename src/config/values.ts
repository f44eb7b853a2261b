// Typed reads of config-file values with one-line errors naming the setting: shared by every
// section's parser (config.ts, spam.ts, outbound.ts).
export type Json = Record<string, unknown>;

export function obj(v: unknown, name: string): Json {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`config: ${name} must be an object`);
  return v as Json;
}

/** Any finite number (scores may be negative). */
export function num(v: unknown, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`config: ${name} must be a number`);
  return v;
}

/** Sizes, counts, times. */
export function nonNegative(v: unknown, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`config: ${name} must be a non-negative number`);
  return v;
}

export function bool(v: unknown, fallback: boolean, name: string): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw new Error(`config: ${name} must be true or false`);
  return v;
}

export function str(v: unknown, fallback: string | null, name: string): string | null {
  if (v === undefined) return fallback;
  if (v !== null && typeof v !== 'string') throw new Error(`config: ${name} must be a string`);
  return v;
}

export function strings(v: unknown, fallback: string[], name: string): string[] {
  if (v === undefined) return fallback;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new Error(`config: ${name} must be a list of strings`);
  return v as string[];
}
