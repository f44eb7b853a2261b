// Child process for crash.test.ts, killed with SIGKILL mid-work:
//   enqueue DATA_DIR             queues messages forever, printing "queued ID N" after each resolves
//   deliver DATA_DIR DNS PORT    runs a sender, printing "result RCPT STATUS" after each outcome
// Run with no arguments (as a test file by the runner) it does nothing.
import { createResolver } from '../../../src/dns/resolver.js';
import { loadConfig } from '../../../src/config/config.js';
import { silentLogger } from '../../../src/log/logger.js';
import { OutboundQueue } from '../../../src/smtp/outbound/queue.js';
import { OutboundSender } from '../../../src/smtp/outbound/sender.js';

export function crashBody(n: number): Buffer {
  return Buffer.from(`From: alice@fjord.test\r\nTo: bob@example.test\r\nSubject: crash ${n}\r\n\r\n${'line of text\r\n'.repeat(200 + n)}`);
}

// only when run as the child itself (crash.test.ts imports crashBody from here)
const [mode, dataDir, dns, port] = process.argv[1]?.endsWith('crash-child.js') ? process.argv.slice(2) : [];

if (mode === 'enqueue') {
  const queue = OutboundQueue.open(dataDir);
  for (let n = 0; ; n++) {
    const id = await queue.enqueue({ mailFrom: 'alice@fjord.test', recipients: [{ address: `a${n}@example.test` }, { address: `b${n}@example.test` }], accountId: 1 }, crashBody(n));
    process.stdout.write(`queued ${id} ${n}\n`);
  }
} else if (mode === 'deliver') {
  const queue = OutboundQueue.open(dataDir);
  const base = loadConfig({ dataDir });
  const config = { ...base, hostname: 'mx.fjord.test', outbound: { ...base.outbound, port: Number(port), retrySchedule: [3600], connectTimeout: 3000 } };
  const sender = new OutboundSender({
    queue,
    config,
    resolver: createResolver(dns),
    logger: silentLogger(),
    deliverLocal: async () => undefined,
    isLocal: async () => true,
    onResult: (r) => process.stdout.write(`result ${r.rcpt} ${r.status}\n`),
  });
  sender.start();
  setInterval(() => undefined, 1000); // stay alive until killed
}
