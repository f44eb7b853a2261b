// The one configuration module: defaults, the optional JSON config file, then command-line
// overrides, validated once into a typed, frozen Config that every service receives.
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { parseListen, type ListenAddress } from './listen.js';
import { obj, nonNegative as num, bool, str, type Json } from './values.js';
import { parseSpamConfig, type SpamConfig } from './spam.js';
import { parseOutboundConfig, parseSendingConfig, type OutboundConfig, type SendingConfig } from './outbound.js';

export type { SpamConfig } from './spam.js';
export type { OutboundConfig, SendingConfig, SendingLimits } from './outbound.js';

export interface Config {
  dataDir: string;
  /** Our host name: SMTP greeting, Received headers, certificate subject. */
  hostname: string;
  /** DNS server (HOST:PORT) used for every lookup; null = the system resolver. */
  dns: string | null;
  listen: {
    smtp: ListenAddress | null;
    /** IMAP with STARTTLS (143 in production). */
    imap: ListenAddress | null;
    /** IMAP over implicit TLS (993 in production). */
    imaps: ListenAddress | null;
    /** POP3 with STLS (110 in production). */
    pop3: ListenAddress | null;
    /** POP3 over implicit TLS (995 in production). */
    pop3s: ListenAddress | null;
    /** Message submission with STARTTLS required before AUTH (587 in production). */
    submission: ListenAddress | null;
    /** Message submission over implicit TLS (465 in production, RFC 8314). */
    submissions: ListenAddress | null;
  };
  smtp: {
    /** Largest message accepted (SIZE), in bytes. */
    maxMessageSize: number;
    /** Message data all sessions together may hold in memory; beyond it DATA gets 452 4.3.1. */
    maxBufferedBytes: number;
    maxRecipients: number;
    maxClients: number;
    /** Idle socket timeout in ms. */
    socketTimeout: number;
    /** Accept 8-bit message data without BODY=8BITMIME (RFC 6152 lets a server refuse it). */
    accept8bitWithout8bitmime: boolean;
    /** Accept bare LF line ends in message data (refused by default: SMTP smuggling). */
    acceptBareLf: boolean;
  };
  imap: {
    /** Allow LOGIN/AUTHENTICATE PLAIN without TLS from non-loopback clients (off: LOGINDISABLED). */
    allowPlaintextAuth: boolean;
    maxClients: number;
    /** Largest message APPEND accepts (APPENDLIMIT), in bytes. */
    appendLimit: number;
    /** Autologout of a connection that sends nothing, in ms (RFC 9051: at least 30 min). */
    idleTimeout: number;
    /** Pause after a failed login, in ms (slows password guessing). */
    authFailureDelay: number;
  };
  pop3: {
    /** Allow USER/PASS and AUTH PLAIN without TLS from non-loopback clients. */
    allowPlaintextAuth: boolean;
    maxClients: number;
    /** A session that sends nothing for this long is closed, in ms (RFC 1939: at least 10 min). */
    idleTimeout: number;
  };
  tls: {
    /** PEM files; when absent a self-signed certificate is generated in <data>/tls. */
    cert: string | null;
    key: string | null;
  };
  delivery: {
    /** Queue entries delivered per store transaction. */
    batchSize: number;
    /** Threads that parse and commit deliveries (0: on the main thread). They use the cores the
     * SMTP sessions leave, and overlap each other's file system waits. */
    threads: number;
  };
  /** Spam filtering of inbound mail (see spam.ts). */
  spam: SpamConfig;
  /** The outbound queue: how and how long we try to reach other servers (see outbound.ts). */
  outbound: OutboundConfig;
  /** Per-account sending limits and bulk-mail freezing (see outbound.ts). */
  sending: SendingConfig;
  log: {
    level: string;
  };
}

export interface ConfigOverrides {
  dataDir?: string;
  configFile?: string;
  hostname?: string;
  dns?: string;
  smtp?: string;
  imap?: string;
  imaps?: string;
  pop3?: string;
  pop3s?: string;
  submission?: string;
  submissions?: string;
  logLevel?: string;
}

const DEFAULTS = {
  hostname: os.hostname() || 'localhost',
  dns: null,
  listen: { smtp: '127.0.0.1:2525', imap: '127.0.0.1:1143', imaps: '127.0.0.1:1993', pop3: '127.0.0.1:1110', pop3s: '127.0.0.1:1995', submission: '127.0.0.1:1587', submissions: '127.0.0.1:1465' },
  smtp: {
    maxMessageSize: 50 * 1024 * 1024,
    maxBufferedBytes: 1024 * 1024 * 1024,
    maxRecipients: 100,
    maxClients: 1000,
    socketTimeout: 5 * 60 * 1000,
    accept8bitWithout8bitmime: false,
    acceptBareLf: false,
  },
  imap: {
    allowPlaintextAuth: false,
    maxClients: 20_000,
    appendLimit: 50 * 1024 * 1024,
    idleTimeout: 30 * 60 * 1000,
    authFailureDelay: 1000,
  },
  pop3: { allowPlaintextAuth: false, maxClients: 5_000, idleTimeout: 10 * 60 * 1000 },
  tls: { cert: null, key: null },
  delivery: { batchSize: 64, threads: 2 },
  log: { level: 'info' },
};

/** Reads the config file (--config, else <data>/config.json when present) and applies overrides. */
export function loadConfig(o: ConfigOverrides = {}): Config {
  const dataDir = path.resolve(o.dataDir ?? process.env.FJORD_DATA ?? './data');
  const file = o.configFile ?? path.join(dataDir, 'config.json');
  let json: Json = {};
  if (o.configFile || fs.existsSync(file)) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
    try {
      json = JSON.parse(text) as Json;
    } catch (e) {
      throw new Error(`config file ${file} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const listen = obj(json.listen, '"listen"');
  const smtp = obj(json.smtp, '"smtp"');
  const imap = obj(json.imap, '"imap"');
  const pop3 = obj(json.pop3, '"pop3"');
  const tls = obj(json.tls, '"tls"');
  const delivery = obj(json.delivery, '"delivery"');
  const log = obj(json.log, '"log"');
  const smtpListen = o.smtp ?? str(listen.smtp, DEFAULTS.listen.smtp, 'listen.smtp') ?? 'off';
  const config: Config = {
    dataDir,
    hostname: (o.hostname ?? str(json.hostname, DEFAULTS.hostname, 'hostname') ?? 'localhost').toLowerCase(),
    dns: o.dns ?? str(json.dns, DEFAULTS.dns, 'dns'),
    listen: {
      smtp: parseListen(smtpListen),
      imap: parseListen(o.imap ?? str(listen.imap, DEFAULTS.listen.imap, 'listen.imap') ?? 'off'),
      imaps: parseListen(o.imaps ?? str(listen.imaps, DEFAULTS.listen.imaps, 'listen.imaps') ?? 'off'),
      pop3: parseListen(o.pop3 ?? str(listen.pop3, DEFAULTS.listen.pop3, 'listen.pop3') ?? 'off'),
      pop3s: parseListen(o.pop3s ?? str(listen.pop3s, DEFAULTS.listen.pop3s, 'listen.pop3s') ?? 'off'),
      submission: parseListen(o.submission ?? str(listen.submission, DEFAULTS.listen.submission, 'listen.submission') ?? 'off'),
      submissions: parseListen(o.submissions ?? str(listen.submissions, DEFAULTS.listen.submissions, 'listen.submissions') ?? 'off'),
    },
    smtp: {
      maxMessageSize: num(smtp.maxMessageSize, DEFAULTS.smtp.maxMessageSize, 'smtp.maxMessageSize'),
      maxBufferedBytes: num(smtp.maxBufferedBytes, DEFAULTS.smtp.maxBufferedBytes, 'smtp.maxBufferedBytes'),
      maxRecipients: num(smtp.maxRecipients, DEFAULTS.smtp.maxRecipients, 'smtp.maxRecipients'),
      maxClients: num(smtp.maxClients, DEFAULTS.smtp.maxClients, 'smtp.maxClients'),
      socketTimeout: num(smtp.socketTimeout, DEFAULTS.smtp.socketTimeout, 'smtp.socketTimeout'),
      accept8bitWithout8bitmime: bool(smtp.accept8bitWithout8bitmime, DEFAULTS.smtp.accept8bitWithout8bitmime, 'smtp.accept8bitWithout8bitmime'),
      acceptBareLf: bool(smtp.acceptBareLf, DEFAULTS.smtp.acceptBareLf, 'smtp.acceptBareLf'),
    },
    imap: {
      allowPlaintextAuth: bool(imap.allowPlaintextAuth, DEFAULTS.imap.allowPlaintextAuth, 'imap.allowPlaintextAuth'),
      maxClients: num(imap.maxClients, DEFAULTS.imap.maxClients, 'imap.maxClients'),
      appendLimit: Math.min(num(imap.appendLimit, DEFAULTS.imap.appendLimit, 'imap.appendLimit'), 1024 * 1024 * 1024),
      idleTimeout: num(imap.idleTimeout, DEFAULTS.imap.idleTimeout, 'imap.idleTimeout'),
      authFailureDelay: num(imap.authFailureDelay, DEFAULTS.imap.authFailureDelay, 'imap.authFailureDelay'),
    },
    pop3: {
      allowPlaintextAuth: bool(pop3.allowPlaintextAuth, DEFAULTS.pop3.allowPlaintextAuth, 'pop3.allowPlaintextAuth'),
      maxClients: num(pop3.maxClients, DEFAULTS.pop3.maxClients, 'pop3.maxClients'),
      idleTimeout: num(pop3.idleTimeout, DEFAULTS.pop3.idleTimeout, 'pop3.idleTimeout'),
    },
    tls: {
      cert: str(tls.cert, DEFAULTS.tls.cert, 'tls.cert'),
      key: str(tls.key, DEFAULTS.tls.key, 'tls.key'),
    },
    delivery: {
      batchSize: Math.max(1, num(delivery.batchSize, DEFAULTS.delivery.batchSize, 'delivery.batchSize')),
      threads: Math.floor(num(delivery.threads, DEFAULTS.delivery.threads, 'delivery.threads')),
    },
    spam: parseSpamConfig(json.spam),
    outbound: parseOutboundConfig(json.outbound),
    sending: parseSendingConfig(json.sending),
    log: { level: o.logLevel ?? str(log.level, DEFAULTS.log.level, 'log.level') ?? 'info' },
  };
  if (config.dns) parseListen(config.dns); // validate HOST:PORT early
  return Object.freeze(config);
}
