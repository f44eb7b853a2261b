// What the inbound spool records beside each message: the envelope as accepted at SMTP time.
export interface InboundMeta {
  v: 1;
  receivedAt: number;
  mailFrom: string;
  /** One entry per local account reached, with the RCPT address that reached it. */
  recipients: { rcpt: string; account: string }[];
  client: { ip: string; helo: string };
}
