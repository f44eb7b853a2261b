// `fjord`: one program for the server and every admin task.
import { UsageError } from './args.js';

/** A command's run may return an exit status of its own (a verdict, say); otherwise 0. */
interface Command { run: (argv: string[]) => Promise<void | number>; usage: string }

// Each command's module (commands/NAME.js, exporting NAMECommand and usage) is loaded when it
// runs: a one-shot command (`fjord spam check` from a mail filter script, say) does not load the
// server's TLS, DKIM and HTTP code first, which took most of its start-up.
const NAMES = ['serve', 'domain', 'account', 'alias', 'mail', 'reputation', 'quarantine', 'spam', 'queue', 'dkim', 'dns'];

async function load(name: string): Promise<Command> {
  const m = await import(`./commands/${name}.js`) as Record<string, unknown>;
  return { run: m[`${name}Command`] as Command['run'], usage: m.usage as string };
}

async function help(): Promise<string> {
  const commands = await Promise.all(NAMES.map(load));
  return [
    'Fjord Mail — usage: fjord COMMAND [ARGS] [--data DIR] [--config FILE]',
    '',
    ...commands.map((c) => c.usage),
    '',
    'Every command takes --data DIR (default ./data, or $FJORD_DATA) and --config FILE.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await help());
    return 0;
  }
  if (!NAMES.includes(name)) {
    console.error(`fjord: unknown command "${name}" (try fjord --help)`);
    return 2;
  }
  const cmd = await load(name);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(cmd.usage);
    return 0;
  }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (e) {
    // A command whose exit status carries an answer (spam check --exit-code) gives its failures
    // a status of their own, so that a failure never reads as an answer.
    const own = (e as { exitCode?: unknown }).exitCode;
    const status = (fallback: number) => (typeof own === 'number' ? own : fallback);
    if (e instanceof UsageError) {
      // One line: a usage text with several forms is summarised, the full text is under --help.
      const lines = e.message.split('\n');
      console.error(`fjord ${name}: ${lines.length > 1 ? `usage: ${lines[0]} … (see fjord ${name} --help)` : lines[0]}`);
      return status(2);
    }
    console.error(`fjord ${name}: ${(e as Error).message ?? String(e)}`);
    return status(1);
  }
}

const code = await main(process.argv.slice(2));
// `serve` keeps running until a signal; everything else exits with its status.
if (process.argv[2] !== 'serve' || code !== 0) process.exitCode = code;
