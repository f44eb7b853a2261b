// The command table: which handler runs a command and in which session states it is valid.
import type { Command } from '../parser/types.js';
import type { Session, SessionState } from '../session.js';
import { capability, enable, id, logout, namespace, noop } from './any.js';
import { authenticateCommand, login, starttls } from './auth.js';
import { create, del, list, lsub, rename, status, subscribe, unsubscribe } from './mailboxes.js';
import { close, examine, select, unselect } from './select.js';
import { fetch } from './fetch.js';
import { store } from './store.js';
import { copy, move } from './copy-move.js';
import { expunge } from './expunge.js';
import { append } from './append.js';
import { idle } from './idle.js';
import { getQuota, getQuotaRoot, setQuota } from './quota.js';
import { compress } from './compress.js';
import { search, sort, thread } from './search.js';

export interface CommandSpec {
  states: SessionState[];
  handler: (s: Session, cmd: Command) => Promise<void>;
}

const ANY: SessionState[] = ['notauth', 'auth', 'selected'];
const NOTAUTH: SessionState[] = ['notauth'];
const AUTH: SessionState[] = ['auth', 'selected'];
const SELECTED: SessionState[] = ['selected'];

export const COMMANDS = new Map<string, CommandSpec>([
  ['CAPABILITY', { states: ANY, handler: capability }],
  ['NOOP', { states: ANY, handler: noop }],
  ['LOGOUT', { states: ANY, handler: logout }],
  ['ID', { states: ANY, handler: id }],
  ['STARTTLS', { states: NOTAUTH, handler: starttls }],
  ['LOGIN', { states: NOTAUTH, handler: login }],
  ['AUTHENTICATE', { states: NOTAUTH, handler: authenticateCommand }],
  ['ENABLE', { states: ['auth'], handler: enable }],
  ['NAMESPACE', { states: AUTH, handler: namespace }],
  ['SELECT', { states: AUTH, handler: select }],
  ['EXAMINE', { states: AUTH, handler: examine }],
  ['CREATE', { states: AUTH, handler: create }],
  ['DELETE', { states: AUTH, handler: del }],
  ['RENAME', { states: AUTH, handler: rename }],
  ['SUBSCRIBE', { states: AUTH, handler: subscribe }],
  ['UNSUBSCRIBE', { states: AUTH, handler: unsubscribe }],
  ['LIST', { states: AUTH, handler: list }],
  ['LSUB', { states: AUTH, handler: lsub }],
  ['STATUS', { states: AUTH, handler: status }],
  ['APPEND', { states: AUTH, handler: append }],
  ['IDLE', { states: AUTH, handler: idle }],
  ['GETQUOTA', { states: AUTH, handler: getQuota }],
  ['GETQUOTAROOT', { states: AUTH, handler: getQuotaRoot }],
  ['SETQUOTA', { states: AUTH, handler: setQuota }],
  ['COMPRESS', { states: AUTH, handler: compress }],
  // IMAP4rev1 only (RFC 3501 §6.4.1): nothing to checkpoint here, so it is a NOOP.
  ['CHECK', { states: SELECTED, handler: noop }],
  ['CLOSE', { states: SELECTED, handler: close }],
  ['UNSELECT', { states: SELECTED, handler: unselect }],
  ['EXPUNGE', { states: SELECTED, handler: expunge }],
  ['UID EXPUNGE', { states: SELECTED, handler: expunge }],
  ['FETCH', { states: SELECTED, handler: fetch }],
  ['UID FETCH', { states: SELECTED, handler: fetch }],
  ['STORE', { states: SELECTED, handler: store }],
  ['UID STORE', { states: SELECTED, handler: store }],
  ['COPY', { states: SELECTED, handler: copy }],
  ['UID COPY', { states: SELECTED, handler: copy }],
  ['MOVE', { states: SELECTED, handler: move }],
  ['UID MOVE', { states: SELECTED, handler: move }],
  ['SEARCH', { states: SELECTED, handler: search }],
  ['UID SEARCH', { states: SELECTED, handler: search }],
  ['SORT', { states: SELECTED, handler: sort }],
  ['UID SORT', { states: SELECTED, handler: sort }],
  ['THREAD', { states: SELECTED, handler: thread }],
  ['UID THREAD', { states: SELECTED, handler: thread }],
]);
