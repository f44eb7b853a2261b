// Domain-name rules SPF applies before and after macro expansion (RFC 7208 §4.3, §7.3, §12).

/** §4.3: a <domain> check_host() can work on: multi-label, no empty or over-long labels. */
export function isCheckableDomain(domain: string): boolean {
  const d = domain.replace(/\.$/, '');
  if (d.length === 0 || d.length > 253 || d.startsWith('[')) return false;
  const labels = d.split('.');
  return labels.length >= 2 && labels.every((l) => l.length > 0 && l.length <= 63);
}

/** Whether a DNS query can be composed for the name at all (RFC 1035 label/name sizes). */
export function isQueryableName(name: string): boolean {
  const labels = name.replace(/\.$/, '').split('.');
  return labels.every((l) => l.length > 0 && Buffer.byteLength(l) <= 63) && Buffer.byteLength(name) <= 255;
}

/** toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
export function isTopLabel(label: string): boolean {
  return /^[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*$/.test(label) || /^[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9]$/.test(label);
}

/** §7.3: drop a trailing dot, and left-most labels until the name fits in 253 characters. */
export function targetName(expanded: string): string {
  let name = expanded.replace(/\.$/, '');
  while (name.length > 253) {
    const dot = name.indexOf('.');
    if (dot < 0) break;
    name = name.slice(dot + 1);
  }
  return name;
}
