import { parse, configFrom } from '../args.js';
import { createLogger } from '../../log/logger.js';
import { startSystem } from '../../app/start.js';
import { ensureDemo } from './demo.js';

export const usage = `fjord serve [--data DIR] [--config FILE] [--hostname NAME] [--smtp HOST:PORT|off] [--imap HOST:PORT|off] [--imaps HOST:PORT|off] [--pop3 HOST:PORT|off] [--pop3s HOST:PORT|off] [--submission HOST:PORT|off] [--submissions HOST:PORT|off] [--dns HOST:PORT] [--no-demo] [--log-level LEVEL]`;

export async function serveCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    hostname: { type: 'string' },
    smtp: { type: 'string' },
    imap: { type: 'string' },
    imaps: { type: 'string' },
    pop3: { type: 'string' },
    pop3s: { type: 'string' },
    submission: { type: 'string' },
    submissions: { type: 'string' },
    dns: { type: 'string' },
    'no-demo': { type: 'boolean' },
    'log-level': { type: 'string' },
  });
  const config = configFrom(values, {
    hostname: values.hostname as string | undefined,
    smtp: values.smtp as string | undefined,
    imap: values.imap as string | undefined,
    imaps: values.imaps as string | undefined,
    pop3: values.pop3 as string | undefined,
    pop3s: values.pop3s as string | undefined,
    submission: values.submission as string | undefined,
    submissions: values.submissions as string | undefined,
    dns: values.dns as string | undefined,
    logLevel: values['log-level'] as string | undefined,
  });
  const logger = createLogger(config.log.level);
  // Handlers go in before anything listens: a client (or test) that sees the port open and
  // sends SIGTERM at once must get a clean shutdown, not the default kill.
  let system: Awaited<ReturnType<typeof startSystem>> | undefined;
  let stopRequested = false;
  let signals = 0;
  const stop = () => {
    system!.stop().then(
      () => process.exit(0),
      (e) => {
        logger.error({ err: (e as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  const onSignal = (sig: string) => {
    if (++signals > 1) {
      logger.warn({ sig }, 'second signal: exiting at once');
      process.exit(1);
    }
    logger.info({ sig }, 'signal received');
    if (system) stop();
    else stopRequested = true;
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  system = await startSystem(config, logger);
  if (stopRequested) return stop();

  if (!values['no-demo']) {
    try {
      await ensureDemo(system.store, system.addresses);
    } catch (e) {
      await system.stop();
      throw new Error(`could not create the demo account: ${(e as Error).message}`);
    }
  }
}
