// IMAP SEARCH, SORT and THREAD engine: parsing, evaluation against the store, responses.
export type { SearchKey, ParsedSearch, ReturnOptions, SearchError, DayNumber } from './types.js';
export { parseSearchArgs, parseSearchProgram, parseSearchDate, MAX_SEARCH_KEYS, SEARCH_CHARSETS } from './parse.js';
export { evaluateSearch, evaluateSearchDetailed, usesModseq, addressText, type SearchContext, type SearchResult } from './evaluate.js';
export { MessageLoader, type MessageDigest } from './messages.js';
export {
  compressSet, sequenceNumberOf, responseNumbers, formatSearchResponse, formatEsearchResponse, formatSortResponse,
  returnedUids, savedResult, wantsEsearch, type SearchResponseOptions, type EsearchResponseOptions,
} from './respond.js';
export { parseSortCriteria, parseSortArgs, sortMessages, baseSubject, extractBaseSubject, type SortKey, type SortCriterion, type BaseSubject } from './sort.js';
export {
  parseThreadArgs, threadMessages, threadByReferences, threadByOrderedSubject, formatThread, formatThreadResponse,
  THREAD_ALGORITHMS, type ThreadAlgorithm, type ThreadNode, type ThreadInput,
} from './thread.js';
export { rawHeaderValues, decodedHeaderValues, foldForSearch, casemapKey, compareCodePoints, prefilterWords } from './text.js';
export { writtenDay, utcDay } from './dates.js';
