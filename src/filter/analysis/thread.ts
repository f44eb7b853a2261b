// Entry point of an analysis thread: parses a message and runs the rules and the tokenizer on it
// (analyseContent), off the main thread, whose event loop every SMTP and IMAP session shares.
import { parentPort, workerData } from 'node:worker_threads';
import { parseMessage } from '../../mime/index.js';
import { RuleSet, defaultRules } from '../rules/engine.js';
import { analyseContent } from '../verdict.js';
import type { TokenizeOptions } from '../bayes/tokenize.js';
import { TOKEN_SEP, type AnalysisReply, type AnalysisRequest } from './pool.js';

const setup = workerData as { rulesFile: string | null; tokenize?: TokenizeOptions };
const rules = setup.rulesFile === null ? defaultRules() : RuleSet.fromFile(setup.rulesFile);
const port = parentPort!;

port.on('message', (req: AnalysisRequest) => {
  let reply: AnalysisReply;
  try {
    const raw = Buffer.from(req.raw.buffer, req.raw.byteOffset, req.raw.byteLength);
    const a = analyseContent(raw, parseMessage(raw), rules, setup.tokenize);
    reply = { id: req.id, ok: true, rules: a.rules, tokens: a.tokens.join(TOKEN_SEP), refuse: a.refuse };
  } catch (e) {
    reply = { id: req.id, ok: false, error: (e as Error).message };
  }
  port.postMessage(reply);
});
