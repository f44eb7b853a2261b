// COMPRESS=DEFLATE (RFC 4978): after the OK, both directions are raw DEFLATE streams.
import type { Command } from '../parser/types.js';
import { tokenString } from '../parser/tokens.js';
import type { Session } from '../session.js';

export async function compress(s: Session, cmd: Command): Promise<void> {
  const mech = tokenString(cmd.args[0])?.toUpperCase();
  if (cmd.args.length !== 1 || !mech) return s.bad(cmd.tag, 'COMPRESS expects a mechanism');
  if (s.compressed) return s.no(cmd.tag, '[COMPRESSIONACTIVE] Compression is already active');
  if (mech !== 'DEFLATE') return s.no(cmd.tag, 'Unknown compression mechanism');
  s.ok(cmd.tag, 'DEFLATE active');
  s.startCompression();
}
