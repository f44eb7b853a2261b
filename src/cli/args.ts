// Argument parsing shared by every command (node:util parseArgs, strict: unknown flags fail).
import { parseArgs } from 'node:util';
import { loadConfig, type Config } from '../config/config.js';

export class UsageError extends Error {}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** --data and --config are accepted by every command. */
const COMMON: OptionSpec = { data: { type: 'string' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' } };

export function parse(argv: string[], options: OptionSpec = {}) {
  try {
    const r = parseArgs({ args: argv, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
    return { positionals: r.positionals, values: r.values as Record<string, string | boolean | undefined> };
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
}

export function configFrom(values: Record<string, string | boolean | undefined>, extra: Record<string, string | undefined> = {}): Config {
  return loadConfig({ dataDir: values.data as string | undefined, configFile: values.config as string | undefined, ...extra });
}

export function need(positionals: string[], index: number, name: string): string {
  const v = positionals[index];
  if (v === undefined || v === '') throw new UsageError(`missing ${name}`);
  return v;
}
