// DKIM/ARC tag=value lists (RFC 6376 §3.2): "a=rsa-sha256; d=example.com; ...".
export function parseTagList(value: string): Map<string, string> | null {
  const tags = new Map<string, string>();
  const parts = value.split(';');
  for (const [n, part] of parts.entries()) {
    const item = part.replace(/\r?\n/g, '').trim();
    // tag-list = tag-spec *( ";" tag-spec ) [ ";" ]: only the last may be empty.
    if (item === '') {
      if (n === parts.length - 1) continue;
      return null;
    }
    const eq = item.indexOf('=');
    if (eq <= 0) return null;
    const name = item.slice(0, eq).trim();
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name) || tags.has(name)) return null; // duplicate tags: invalid (§3.2)
    tags.set(name, item.slice(eq + 1).trim());
  }
  return tags;
}

/** The value of a header line "Name: value" (folded lines kept, name dropped). */
export function headerValue(line: string): string {
  const colon = line.indexOf(':');
  return colon < 0 ? '' : line.slice(colon + 1);
}

/** A host name as DKIM's d= and s= need it: LDH labels (A-labels), 1-63 octets each. */
export function isDomainName(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split('.').every((l) => /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(l));
}
