// Schema migrations of the SQLite store. PRAGMA user_version holds the number of migrations
// applied; at open every missing one runs, in order, inside one IMMEDIATE transaction, so an
// older data folder is upgraded in place (and two processes opening it at once don't race).
// A later schema change is one more function appended to MIGRATIONS — never edit a shipped one.
import { SENDING_SCHEMA } from './sending.js';
import { dayOf } from './spam.js';
import type Database from 'better-sqlite3';

export type Migration = (db: Database.Database) => void;

/** The global logistic model starts again: weights, AdaGrad sums, bias and step counts back to
 * zero (it keeps silent until it has learnt from enough messages again); the counts stay. For a
 * migration after which the weights learnt before would be read wrongly. */
function restartLogisticModel(db: Database.Database): void {
  db.exec(`
    UPDATE spam_tokens SET w = 0, g2 = 0 WHERE w != 0 OR g2 != 0;
    UPDATE spam_totals SET bias = 0, lr_ham = 0, lr_spam = 0, version = version + 1 WHERE scope = 0;
  `);
}

export const MIGRATIONS: readonly Migration[] = [
  // v1: directory (domains, accounts, aliases), mailboxes, messages, blobs, threading, search.
  (db) => {
    db.exec(`
      CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;

      CREATE TABLE domains (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE accounts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        address TEXT NOT NULL UNIQUE,
        domain_id INTEGER NOT NULL REFERENCES domains(id),
        password_hash TEXT NOT NULL,
        quota_bytes INTEGER NOT NULL DEFAULT 0,
        quota_messages INTEGER NOT NULL DEFAULT 0,
        used_bytes INTEGER NOT NULL DEFAULT 0,
        used_messages INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX accounts_domain ON accounts(domain_id);
      CREATE TABLE aliases (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        alias TEXT NOT NULL,
        target TEXT NOT NULL,
        domain_id INTEGER NOT NULL REFERENCES domains(id),
        created_at INTEGER NOT NULL,
        UNIQUE (alias, target)
      );
      CREATE INDEX aliases_domain ON aliases(domain_id);
      CREATE INDEX aliases_target ON aliases(target);

      CREATE TABLE mailboxes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER NOT NULL REFERENCES accounts(id),
        name TEXT NOT NULL,
        special_use TEXT,
        subscribed INTEGER NOT NULL DEFAULT 0,
        uid_validity INTEGER NOT NULL,
        uid_next INTEGER NOT NULL DEFAULT 1,
        highest_modseq INTEGER NOT NULL DEFAULT 1,
        messages INTEGER NOT NULL DEFAULT 0,
        unseen INTEGER NOT NULL DEFAULT 0,
        size INTEGER NOT NULL DEFAULT 0,
        UNIQUE (account_id, name)
      );

      -- refs = number of mailbox_messages rows (over all accounts) whose email uses the blob.
      CREATE TABLE blobs (id TEXT PRIMARY KEY, size INTEGER NOT NULL, refs INTEGER NOT NULL) WITHOUT ROWID;

      -- One row per message content per account, shared by its copies (refs = number of
      -- mailbox_messages rows). thread_id NULL means "this email's own id".
      CREATE TABLE emails (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER NOT NULL,
        blob_id TEXT NOT NULL,
        size INTEGER NOT NULL,
        thread_id INTEGER,
        refs INTEGER NOT NULL,
        message_id TEXT,
        root_subject TEXT,
        subject TEXT NOT NULL,
        from_display TEXT NOT NULL,
        date INTEGER,
        has_attachments INTEGER NOT NULL,
        parsed TEXT NOT NULL,
        received_at INTEGER NOT NULL
      );
      CREATE INDEX emails_message_id ON emails(account_id, message_id) WHERE message_id IS NOT NULL;
      CREATE INDEX emails_root_subject ON emails(account_id, root_subject, received_at) WHERE root_subject IS NOT NULL;

      -- Every Message-ID seen in an account (own or referenced) -> thread.
      CREATE TABLE thread_refs (
        account_id INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        thread_id INTEGER NOT NULL,
        PRIMARY KEY (account_id, message_id)
      ) WITHOUT ROWID;

      -- Keywords are case-insensitive; the first-seen spelling is kept per account.
      CREATE TABLE keywords (
        account_id INTEGER NOT NULL,
        lname TEXT NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (account_id, lname)
      ) WITHOUT ROWID;

      CREATE TABLE mailbox_messages (
        mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id),
        uid INTEGER NOT NULL,
        email_id INTEGER NOT NULL REFERENCES emails(id),
        modseq INTEGER NOT NULL,
        flags TEXT NOT NULL,
        internal_date INTEGER NOT NULL,
        size INTEGER NOT NULL,
        thread_id INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      ) WITHOUT ROWID;
      CREATE INDEX mailbox_messages_modseq ON mailbox_messages(mailbox_id, modseq);
      CREATE INDEX mailbox_messages_email ON mailbox_messages(email_id);

      -- Expunge tombstones for QRESYNC.
      CREATE TABLE expunged (
        mailbox_id INTEGER NOT NULL,
        modseq INTEGER NOT NULL,
        uid INTEGER NOT NULL,
        PRIMARY KEY (mailbox_id, modseq, uid)
      ) WITHOUT ROWID;

      -- Contentless full-text indexes (rowid = emails.id): the text is not stored twice.
      -- Token presence only (detail=none): a third of the indexing cost of full positional
      -- detail, and searches match words, not phrases. Header and body are separate tables
      -- because detail=none has no column filters.
      CREATE VIRTUAL TABLE email_header_text USING fts5(
        text, content = '', contentless_delete = 1, detail = none,
        tokenize = 'unicode61 remove_diacritics 2'
      );
      CREATE VIRTUAL TABLE email_body_text USING fts5(
        text, content = '', contentless_delete = 1, detail = none,
        tokenize = 'unicode61 remove_diacritics 2'
      );
    `);
  },
  // v2: delivery idempotency keys and the change feed.
  (db) => {
    db.exec(`
      CREATE TABLE deliveries (key TEXT PRIMARY KEY, at INTEGER NOT NULL);
      CREATE TABLE changes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER NOT NULL,
        mailbox_id INTEGER,
        kind TEXT NOT NULL,
        uid INTEGER,
        modseq INTEGER,
        name TEXT,
        at INTEGER NOT NULL
      );
      CREATE INDEX changes_account ON changes(account_id, id);
    `);
  },
  // v3: subscriptions to names that have no mailbox (IMAP keeps a subscription when the
  // mailbox is deleted, RFC 9051 §6.3.7). A name is here only while no mailbox has it; an
  // existing mailbox's subscription is its `subscribed` column.
  (db) => {
    db.exec(`
      CREATE TABLE subscriptions (
        account_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (account_id, name)
      ) WITHOUT ROWID;
    `);
  },
  // v4: the spam filter's state: token databases (scope 0 = global, else account id), which
  // messages were trained how, where delivered messages came from, user reports, admin
  // overrides of reputation, and the quarantine of refused messages.
  (db) => {
    db.exec(`
      CREATE TABLE spam_tokens (
        scope INTEGER NOT NULL,
        token TEXT NOT NULL,
        ham INTEGER NOT NULL,
        spam INTEGER NOT NULL,
        PRIMARY KEY (scope, token)
      ) WITHOUT ROWID;
      CREATE TABLE spam_totals (scope INTEGER PRIMARY KEY, ham INTEGER NOT NULL, spam INTEGER NOT NULL);
      CREATE TABLE spam_trained (
        scope INTEGER NOT NULL,
        key TEXT NOT NULL,
        verdict TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (scope, key)
      ) WITHOUT ROWID;
      CREATE TABLE email_origins (
        email_id INTEGER PRIMARY KEY,
        ip TEXT NOT NULL,
        helo TEXT NOT NULL,
        mail_from TEXT NOT NULL,
        from_domain TEXT NOT NULL,
        dkim_domains TEXT NOT NULL
      );
      CREATE TABLE spam_reports (
        account_id INTEGER NOT NULL,
        email_key TEXT NOT NULL,
        verdict TEXT NOT NULL,
        at INTEGER NOT NULL,
        ip TEXT,
        mail_from_domain TEXT,
        from_domain TEXT,
        dkim_domain TEXT,
        PRIMARY KEY (account_id, email_key)
      );
      CREATE INDEX spam_reports_ip ON spam_reports(ip, at) WHERE ip IS NOT NULL;
      CREATE INDEX spam_reports_mfd ON spam_reports(mail_from_domain, at) WHERE mail_from_domain IS NOT NULL;
      CREATE INDEX spam_reports_fd ON spam_reports(from_domain, at) WHERE from_domain IS NOT NULL;
      CREATE INDEX spam_reports_dkim ON spam_reports(dkim_domain, at) WHERE dkim_domain IS NOT NULL;
      CREATE INDEX spam_reports_at ON spam_reports(at);
      CREATE TABLE reputation_overrides (
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        action TEXT NOT NULL,
        reason TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (kind, value)
      ) WITHOUT ROWID;
      CREATE TABLE quarantine (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account_id INTEGER NOT NULL,
        at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        mail_from TEXT NOT NULL,
        rcpt TEXT NOT NULL,
        subject TEXT NOT NULL,
        from_display TEXT NOT NULL,
        score REAL NOT NULL,
        reasons TEXT NOT NULL,
        origin TEXT,
        raw BLOB NOT NULL
      );
      CREATE INDEX quarantine_account ON quarantine(account_id, at);
      CREATE INDEX quarantine_expires ON quarantine(expires_at);
    `);
  },
  // v5: DKIM signing keys of local domains (removed with the domain). Retired keys stay, with
  // the time they were retired, so their DNS records can be kept for a grace period. The
  // cascade needs foreign_keys=ON (db.ts sets it on every connection).
  (db) => {
    db.exec(`
      CREATE TABLE dkim_keys (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        domain_id INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
        selector TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        private_key TEXT NOT NULL,
        public_key TEXT NOT NULL,
        active INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        retired_at INTEGER,
        UNIQUE (domain_id, selector)
      );
    `);
  },
  // v6: sending limits: submitted messages and their recipients (hourly/daily counts, bulk
  // signals), bounces and complaints, recipients each account ever wrote to, freeze state, and
  // sender identities granted by the operator (see sending.ts).
  (db) => {
    db.exec(SENDING_SCHEMA);
  },
  // v7: a version per token database, raised by every training, so that a process holding the
  // global database in memory (filter/bayes/token-cache.ts) sees when another one trained it.
  (db) => {
    db.exec('ALTER TABLE spam_totals ADD COLUMN version INTEGER NOT NULL DEFAULT 0');
  },
  // v8: the day each token was last trained, so that a token database can be held to a size by
  // dropping what has not been seen longest (spam.ts expireTokens); existing tokens count as
  // seen on the day of the upgrade (a default, so no row is rewritten). The version of each
  // database when its size was last checked, so only databases trained since are counted.
  (db) => {
    db.exec(`
      ALTER TABLE spam_tokens ADD COLUMN seen INTEGER NOT NULL DEFAULT ${dayOf(new Date())};
      CREATE INDEX spam_tokens_seen ON spam_tokens (scope, seen);
      ALTER TABLE spam_totals ADD COLUMN checked_version INTEGER NOT NULL DEFAULT -1;
    `);
  },
  // v9: the authenticated From address of a delivered message, and what each user said of such
  // senders (moved their mail out of Junk or into it), which counts for the user's later mail
  // from them.
  (db) => {
    db.exec(`
      ALTER TABLE email_origins ADD COLUMN from_auth TEXT NOT NULL DEFAULT '';
      CREATE TABLE sender_verdicts (
        account_id INTEGER NOT NULL,
        address TEXT NOT NULL,
        verdict TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (account_id, address)
      ) WITHOUT ROWID;
    `);
  },
  // v10: the global database's logistic-regression model beside the token counts
  // (filter/bayes/logistic.ts): each token's weight and its sum of squared gradients (AdaGrad),
  // and with the totals the model's bias and how many ham and spam messages it has learnt from
  // (it speaks only after enough of each). Zero is the untrained model.
  (db) => {
    db.exec(`
      ALTER TABLE spam_tokens ADD COLUMN w REAL NOT NULL DEFAULT 0;
      ALTER TABLE spam_tokens ADD COLUMN g2 REAL NOT NULL DEFAULT 0;
      ALTER TABLE spam_totals ADD COLUMN bias REAL NOT NULL DEFAULT 0;
      ALTER TABLE spam_totals ADD COLUMN lr_ham INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE spam_totals ADD COLUMN lr_spam INTEGER NOT NULL DEFAULT 0;
    `);
  },
  // v11: the logistic model now learns a correction to the rules' and Bayes's points, from the
  // rules' hits as tokens too (logistic.ts), and its points are read that way: weights learnt
  // as a model of their own would be read wrongly, so it starts again (and keeps silent until
  // it has learnt from enough messages again).
  restartLogisticModel,
  // v12: the logistic model reads a message as a vector of unit length (each of its n tokens
  // counts 1/√n, logistic.ts featureScale): weights learnt summing tokens unscaled would be read
  // about √n times too weakly, so it starts again, as at v11.
  restartLogisticModel,
];

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Applies the missing migrations. Throws when the database is newer than the code. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const target = migrations.length;
  const check = (v: number) => {
    if (v > target) {
      throw new Error(`database schema version ${v} is newer than this program supports (${target}); upgrade Fjord Mail`);
    }
  };
  const before = schemaVersion(db);
  check(before);
  if (before === target) return target;
  db.transaction(() => {
    const v = schemaVersion(db); // re-read under the write lock: another process may have migrated
    check(v);
    for (let i = v; i < target; i++) migrations[i]!(db);
    db.pragma(`user_version = ${target}`);
  }).immediate();
  return target;
}
