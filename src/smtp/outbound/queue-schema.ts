// The outbound queue's SQLite schema (<data>/queue/outbound.db). Versioned with user_version so
// later changes can migrate a queue that still holds mail. Times are milliseconds since the epoch.
import type Database from 'better-sqlite3';

const V1 = `
CREATE TABLE messages (
  id           TEXT PRIMARY KEY,
  mail_from    TEXT NOT NULL,
  account_id   INTEGER,
  ret          TEXT CHECK (ret IN ('FULL', 'HDRS')),
  envid        TEXT,
  size         INTEGER NOT NULL,
  eight_bit    INTEGER NOT NULL DEFAULT 0,
  created_at   INTEGER NOT NULL,
  delay_warned INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX messages_delay ON messages (delay_warned, created_at);
CREATE TABLE recipients (
  message_id      TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
  idx             INTEGER NOT NULL,
  address         TEXT NOT NULL,
  domain          TEXT NOT NULL,
  notify          TEXT,
  orcpt           TEXT,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'held')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_attempt_at INTEGER,
  last_reply      TEXT,
  remote_mta      TEXT,
  status          TEXT,
  -- 1 while a DSN (failure, or relayed for NOTIFY=SUCCESS) is owed for this recipient
  dsn_due         INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (message_id, idx)
) WITHOUT ROWID;
CREATE INDEX recipients_due ON recipients (state, next_attempt_at);
CREATE INDEX recipients_dsn ON recipients (dsn_due) WHERE dsn_due = 1;
-- MTA-STS policies (RFC 8461 §5), cached until expires_at (fetch time + max_age)
CREATE TABLE sts_policies (
  domain     TEXT PRIMARY KEY,
  policy_id  TEXT NOT NULL,
  mode       TEXT NOT NULL,
  mx         TEXT NOT NULL,
  max_age    INTEGER NOT NULL,
  fetched_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
`;

// v2: local copies of submissions (their inbound spool ids) that became deliverable with the
// commit of their remote half: a copy staged for a submission whose remote half never got here
// (a crash, a full disk) is not delivered, so the client's retry gives no one a second copy.
const V2 = `
CREATE TABLE local_copies (
  spool_id   TEXT PRIMARY KEY,
  created_at INTEGER NOT NULL
) WITHOUT ROWID;
`;

const MIGRATIONS: string[] = [V1, V2];

export function migrateQueue(db: Database.Database): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  if (version() > MIGRATIONS.length) throw new Error(`outbound queue schema version ${version()} is newer than this program (${MIGRATIONS.length})`);
  // The server and `fjord queue` may open a new queue at the same moment: the version is read
  // again inside the write lock, so only one of them applies each step.
  db.transaction(() => {
    for (let v = version(); v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    }
  }).immediate();
}
