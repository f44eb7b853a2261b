// IMAP command parser: CommandReader splits the stream, grammar types each command.
export { CommandReader } from './reader.js';
export type { CommandReaderOptions, ContinuationRequest, ReaderState } from './reader.js';
export { parseCommand, extractTag } from './grammar.js';
export { parseSequenceSet, sequenceSetContains } from './sequence-set.js';
export { DEFAULT_LIMITS, resolveLimits } from './limits.js';
export type { ParserLimits } from './limits.js';
export { tokenString, tokenUint32, tokenSequenceSet } from './tokens.js';
export { parseFetchItems } from './fetch-items.js';
export type { FetchItem } from './fetch-items.js';
export type * from './types.js';
