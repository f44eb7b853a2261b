// "User says spam / not spam" events: a message moved or copied into the Junk mailbox, out of it
// (anywhere but Trash), or given the $Junk / $NotJunk keyword. The spam filter consumes them to
// train and to record reports against the sender.
export interface JunkReport {
  accountId: number;
  verdict: 'spam' | 'ham';
  /** How the user said it. */
  via: 'move' | 'copy' | 'keyword' | 'append';
  /** The message as it now lives (destination mailbox for moves and copies). */
  mailboxId: number;
  uid: number;
  emailId: string;
}

export type JunkReporter = (report: JunkReport) => void;
