// Growable byte buffer. Keeping one Buffer (not one per socket chunk) keeps memory
// proportional to the bytes received even when a client dribbles 1-byte chunks.

export class ByteAccumulator {
  private buf: Buffer = Buffer.alloc(0);
  private len = 0;

  /** @param cap the most this will ever hold; growth never allocates past it. */
  constructor(private readonly cap: number) {}

  get length(): number {
    return this.len;
  }

  /** Caller guarantees length + bytes.length <= cap. */
  append(bytes: Buffer): void {
    const need = this.len + bytes.length;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.cap, Math.max(need, 256, this.buf.length * 2)));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    bytes.copy(this.buf, this.len);
    this.len = need;
  }

  /** Returns the bytes as an exact-size Buffer and empties the accumulator. */
  take(): Buffer {
    // Growth is capped at `cap`, so a full accumulator hands over its buffer without a copy.
    const out = this.buf.length === this.len ? this.buf : Buffer.from(this.buf.subarray(0, this.len));
    this.clear();
    return out;
  }

  clear(): void {
    this.buf = Buffer.alloc(0);
    this.len = 0;
  }
}
