// Builds small test messages (LF line ends, as stored in the corpus).
export function msg(headers: Record<string, string>, body: string): Buffer {
  const h = Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\n');
  return Buffer.from(`${h}\n\n${body}`, 'utf8');
}

export function multipart(headers: Record<string, string>, parts: { headers: Record<string, string>; body: string }[]): Buffer {
  const b = 'BOUNDARY_x1';
  const h = { 'MIME-Version': '1.0', ...headers, 'Content-Type': `multipart/mixed; boundary="${b}"` };
  const body = parts.map((p) => `--${b}\n${Object.entries(p.headers).map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${p.body}\n`).join('') + `--${b}--\n`;
  return msg(h, body);
}
