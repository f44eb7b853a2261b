// The Authentication-Results header field (RFC 8601) for our results, one resinfo a line.
import type { SpfIdentityResult } from './spf/index.js';
import type { DkimSignatureResult } from './dkim.js';
import type { DmarcOutcome } from './dmarc.js';
import type { ArcOutcome } from './arc.js';

/** A property value: kept as is when it is a token or an address, else a quoted-string. */
export function pvalue(v: string): string {
  if (/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+(@[A-Za-z0-9.\-_]+)?$/.test(v) && !/^\./.test(v)) return v;
  return `"${v.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\r\n]/g, ' ')}"`;
}

/** A comment: parentheses and backslashes escaped, kept short and on one line. */
export function comment(text: string): string {
  const t = text.replace(/[\r\n\t]+/g, ' ').replace(/[\\()]/g, (c) => `\\${c}`);
  return `(${t.length > 160 ? `${t.slice(0, 157)}...` : t})`;
}

export interface ResultsParts {
  authservId: string;
  spfMailFrom: SpfIdentityResult;
  spfHelo: SpfIdentityResult;
  mailFrom: string;
  helo: string;
  dkim: DkimSignatureResult[];
  dmarc: DmarcOutcome;
  arc: ArcOutcome;
}

/** "Authentication-Results: …\r\n", folded one resinfo per line. */
export function authenticationResults(p: ResultsParts): string {
  const lines: string[] = [];
  const spfComment = (r: SpfIdentityResult) => (r.problem ? ` ${comment(r.problem)}` : r.mechanism ? ` ${comment(`${r.domain}: ${r.mechanism}`)}` : '');
  lines.push(`spf=${p.spfMailFrom.result}${spfComment(p.spfMailFrom)} smtp.mailfrom=${pvalue(p.mailFrom ? p.spfMailFrom.sender : p.spfMailFrom.domain)}`);
  if (p.helo) lines.push(`spf=${p.spfHelo.result}${spfComment(p.spfHelo)} smtp.helo=${pvalue(p.helo)}`);
  if (!p.dkim.length) lines.push('dkim=none');
  for (const s of p.dkim) {
    const props = [`header.d=${pvalue(s.domain || 'unknown')}`];
    if (s.identity) props.push(`header.i=${pvalue(s.identity)}`);
    if (s.selector) props.push(`header.s=${pvalue(s.selector)}`);
    if (s.algorithm) props.push(`header.a=${pvalue(s.algorithm)}`);
    if (s.b) props.push(`header.b=${pvalue(s.b.slice(0, 8))}`);
    lines.push(`dkim=${s.result}${s.comment ? ` ${comment(s.comment)}` : ''} ${props.join(' ')}`);
  }
  const d = p.dmarc;
  const policyNote = d.policy ? [`p=${d.p ?? d.policy}`, d.sp && d.sp !== d.p ? `sp=${d.sp}` : '', d.pct !== 100 ? `pct=${d.pct}` : '', `dis=${d.disposition}`].filter(Boolean).join(' ') : d.comment ?? '';
  lines.push(`dmarc=${d.result}${policyNote ? ` ${comment(policyNote)}` : ''}${d.fromDomain ? ` header.from=${pvalue(d.fromDomain)}` : ''}`);
  if (p.arc.result !== 'none' || p.arc.instance > 0) lines.push(`arc=${p.arc.result}${p.arc.comment ? ` ${comment(p.arc.comment)}` : ''}${p.arc.instance ? ` ${comment(`i=${p.arc.instance}`)}` : ''}`);
  else lines.push('arc=none');
  return `Authentication-Results: ${p.authservId};\r\n ${lines.join(';\r\n ')}\r\n`;
}
