// `fjord`: one program for the server and every admin task.
import { UsageError } from './args.js';
import * as serve from './commands/serve.js';
import * as domain from './commands/domain.js';
import * as account from './commands/account.js';
import * as alias from './commands/alias.js';
import * as mail from './commands/mail.js';
import * as reputation from './commands/reputation.js';
import * as quarantine from './commands/quarantine.js';
import * as spam from './commands/spam.js';
import * as queue from './commands/queue.js';
import * as dkim from './commands/dkim.js';
import * as dns from './commands/dns.js';

/** A command's run may return an exit status of its own (a verdict, say); otherwise 0. */
const COMMANDS: Record<string, { run: (argv: string[]) => Promise<void | number>; usage: string }> = {
  serve: { run: serve.serveCommand, usage: serve.usage },
  domain: { run: domain.domainCommand, usage: domain.usage },
  account: { run: account.accountCommand, usage: account.usage },
  alias: { run: alias.aliasCommand, usage: alias.usage },
  mail: { run: mail.mailCommand, usage: mail.usage },
  reputation: { run: reputation.reputationCommand, usage: reputation.usage },
  quarantine: { run: quarantine.quarantineCommand, usage: quarantine.usage },
  spam: { run: spam.spamCommand, usage: spam.usage },
  queue: { run: queue.queueCommand, usage: queue.usage },
  dkim: { run: dkim.dkimCommand, usage: dkim.usage },
  dns: { run: dns.dnsCommand, usage: dns.usage },
};

function help(): string {
  return [
    'Fjord Mail — usage: fjord COMMAND [ARGS] [--data DIR] [--config FILE]',
    '',
    ...Object.values(COMMANDS).map((c) => c.usage),
    '',
    'Every command takes --data DIR (default ./data, or $FJORD_DATA) and --config FILE.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`fjord: unknown command "${name}" (try fjord --help)`);
    return 2;
  }
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
