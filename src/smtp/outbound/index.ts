// The outbound queue and delivery engine (issue 6 §2): what the rest of the system uses.
export { OutboundQueue, type DueRecipient, type RecipientUpdate, type StsPolicyRow } from './queue.js';
export { OutboundSender, type OutboundSenderDeps, type OutboundResult } from './sender.js';
export { OutboundQueueError, type OutboundEnvelope, type Notify, type QueuedMessage, type QueuedRecipient, type RecipientState } from './types.js';
