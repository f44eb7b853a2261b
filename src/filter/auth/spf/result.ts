// SPF results (RFC 7208 §2.6) and the error that ends check_host() early with one of them.
export type SpfResult = 'none' | 'neutral' | 'pass' | 'fail' | 'softfail' | 'temperror' | 'permerror';

/** Thrown inside check_host() to end the evaluation with `result` (§4.6, §4.4, §4.6.4). */
export class SpfAbort extends Error {
  constructor(
    readonly result: 'none' | 'temperror' | 'permerror',
    message: string,
  ) {
    super(message);
  }
}

export const QUALIFIER_RESULT: Record<string, SpfResult> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };
