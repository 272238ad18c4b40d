// A FIFO of input chunks with a read cursor, so records can be framed across chunk boundaries
// without ever re-concatenating the buffered bytes: framing reads a few header fields at the
// cursor, advancing is pointer arithmetic, and bytes are copied once, when taken out.

export class ByteQueue {
  private chunks: Buffer[] = [];
  /** index of the first live chunk and offset of the first live byte in it */
  private head = 0;
  private headOff = 0;
  /** live bytes, from the head to the end */
  private size = 0;
  /** the cursor: `pos` bytes after the head, at chunks[curIdx][curOff] (curIdx may equal
   *  chunks.length when the cursor is at the very end) */
  private pos = 0;
  private curIdx = 0;
  private curOff = 0;

  /** bytes held (from the head to the end) */
  get length(): number {
    return this.size;
  }

  /** bytes between the head and the cursor */
  get cursor(): number {
    return this.pos;
  }

  /** bytes after the cursor */
  get available(): number {
    return this.size - this.pos;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** The byte at `i` bytes after the cursor (caller ensures i < available). */
  byte(i: number): number {
    let idx = this.curIdx;
    let off = this.curOff + i;
    for (;;) {
      const c = this.chunks[idx]!;
      if (off < c.length) return c[off]!;
      off -= c.length;
      idx++;
    }
  }

  u16(i: number, le: boolean): number {
    const c = this.chunks[this.curIdx];
    const o = this.curOff + i;
    if (c !== undefined && o + 2 <= c.length) return le ? c.readUInt16LE(o) : c.readUInt16BE(o);
    const a = this.byte(i);
    const b = this.byte(i + 1);
    return le ? a | (b << 8) : (a << 8) | b;
  }

  u32(i: number, le: boolean): number {
    const c = this.chunks[this.curIdx];
    const o = this.curOff + i;
    if (c !== undefined && o + 4 <= c.length) return le ? c.readUInt32LE(o) : c.readUInt32BE(o);
    const a = this.byte(i);
    const b = this.byte(i + 1);
    const d = this.byte(i + 2);
    const e = this.byte(i + 3);
    return (le ? (e << 24) | (d << 16) | (b << 8) | a : (a << 24) | (b << 16) | (d << 8) | e) >>> 0;
  }

  /** `n` bytes from the cursor as one Buffer: a view of the input when they lie in one chunk,
   *  else a copy. The cursor does not move. */
  peek(n: number): Buffer {
    const c = this.chunks[this.curIdx];
    if (c !== undefined && this.curOff + n <= c.length) return c.subarray(this.curOff, this.curOff + n);
    const out = Buffer.allocUnsafe(n);
    let idx = this.curIdx;
    let off = this.curOff;
    let done = 0;
    while (done < n) {
      const src = this.chunks[idx]!;
      const k = Math.min(src.length - off, n - done);
      src.copy(out, done, off, off + k);
      done += k;
      idx++;
      off = 0;
    }
    return out;
  }

  /** Bytes [start, end) after the cursor as one Buffer (a view when they lie in one chunk). */
  slice(start: number, end: number): Buffer {
    const c = this.chunks[this.curIdx];
    const o = this.curOff;
    if (c !== undefined && o + end <= c.length) return c.subarray(o + start, o + end);
    return this.peek(end).subarray(start, end);
  }

  /** Move the cursor `n` bytes forward (n <= available). */
  advance(n: number): void {
    this.pos += n;
    let idx = this.curIdx;
    let off = this.curOff + n;
    const chunks = this.chunks;
    while (idx < chunks.length && off >= chunks[idx]!.length) {
      off -= chunks[idx]!.length;
      idx++;
    }
    this.curIdx = idx;
    this.curOff = off;
  }

  /** Remove the bytes before the cursor and return them as views of the input chunks. */
  take(): Buffer[] {
    const out: Buffer[] = [];
    let idx = this.head;
    let off = this.headOff;
    while (idx < this.curIdx) {
      const c = this.chunks[idx]!;
      if (off < c.length) out.push(off === 0 ? c : c.subarray(off));
      idx++;
      off = 0;
    }
    if (this.curOff > off) out.push(this.chunks[this.curIdx]!.subarray(off, this.curOff));
    this.drop();
    return out;
  }

  /** When nothing lies before the cursor and the bytes after it are all in one chunk: empties
   *  the queue and returns those bytes as a view (empty when there are none); else undefined.
   *  Lets a caller frame a run of records straight out of the chunk. */
  takeWholeRest(): Buffer | undefined {
    if (this.pos !== 0 || this.curIdx < this.chunks.length - 1) return undefined;
    const rest = this.curIdx < this.chunks.length ? this.chunks[this.curIdx]!.subarray(this.curOff) : EMPTY;
    this.chunks = [];
    this.head = this.headOff = this.size = this.curIdx = this.curOff = 0;
    return rest;
  }

  /** Replaces the bytes after the cursor (with nothing before it) by one copy, so the queue no
   *  longer shares memory with the chunks it was given. */
  copyRest(): void {
    if (this.pos !== 0) throw new Error('ByteQueue.copyRest: bytes before the cursor');
    const n = this.available;
    const copy = n === 0 ? EMPTY : Buffer.from(this.peek(n));
    this.chunks = [];
    this.head = this.headOff = this.size = this.curIdx = this.curOff = 0;
    this.push(copy);
  }

  /** Forget the bytes before the cursor. */
  drop(): void {
    for (let i = this.head; i < this.curIdx; i++) this.chunks[i] = EMPTY;
    this.head = this.curIdx;
    this.headOff = this.curOff;
    this.size -= this.pos;
    this.pos = 0;
    // Compact the chunk list now and then, so it never grows with the stream (amortised O(1)).
    if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.curIdx -= this.head;
      this.head = 0;
    }
  }
}

const EMPTY = Buffer.alloc(0);
