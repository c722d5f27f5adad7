// The protobuf wire format (https://protobuf.dev/programming-guides/encoding/), read in place from
// one buffer: tags, varints and length-delimited fields, no schema and no objects. A caller walks
// the fields it needs and skips the rest without decoding them.
//
// Varints are 64-bit integers; JS numbers are exact only up to 2^53 - 1. Every read returns an
// exact number or NaN, never a rounded value: on NaN the exact value is in `big` for the caller's
// error message. Malformed data (a field past the end of its message, a varint longer than 10
// bytes, a wire type that does not exist) throws a WireFormatError, which the caller turns into an
// error that names its input.

/** Wire types (the low 3 bits of a tag). Groups (3, 4) are deprecated and never in a pprof profile. */
export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

const TWO_64 = 2n ** 64n;
const TWO_63 = 2n ** 63n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Bytes that are not well-formed protobuf. The message says what and where (byte offset). */
export class WireFormatError extends Error {
  override name = 'WireFormatError' as const;
}

export class WireReader {
  readonly buf: Uint8Array;
  /** Offset of the next byte to read. */
  pos: number;
  /** Exact value of the last varint that did not fit a safe integer (when a read returned NaN). */
  big = 0n;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.pos = 0;
  }

  /** A varint read as uint64 (ids, lengths, tags): exact, or NaN beyond 2^53 - 1 (value in `big`). */
  uint64(): number {
    const buf = this.buf;
    let p = this.pos;
    // Unrolled: most varints in a profile are 1-3 bytes. Four bytes carry 28 bits (int32
    // arithmetic); up to seven carry 49 bits, exact in a double. Longer ones, or a varint that
    // may run past the end, take the careful path.
    if (p + 7 > buf.length) return this.#careful();
    let c = buf[p++]!;
    if (c < 0x80) {
      this.pos = p;
      return c;
    }
    let v = c & 0x7f;
    c = buf[p++]!;
    v |= (c & 0x7f) << 7;
    if (c < 0x80) {
      this.pos = p;
      return v;
    }
    c = buf[p++]!;
    v |= (c & 0x7f) << 14;
    if (c < 0x80) {
      this.pos = p;
      return v;
    }
    c = buf[p++]!;
    v |= (c & 0x7f) << 21;
    if (c < 0x80) {
      this.pos = p;
      return v;
    }
    c = buf[p++]!;
    v += (c & 0x7f) * 2 ** 28;
    if (c < 0x80) {
      this.pos = p;
      return v;
    }
    c = buf[p++]!;
    v += (c & 0x7f) * 2 ** 35;
    if (c < 0x80) {
      this.pos = p;
      return v;
    }
    c = buf[p++]!;
    v += (c & 0x7f) * 2 ** 42;
    if (c < 0x80) {
      this.pos = p;
      return v;
    }
    return this.#careful();
  }

  /** A varint read as int64 (pprof's values and string indices): negative values are two's complement. */
  int64(): number {
    const v = this.uint64();
    if (v === v) return v;
    // NaN: 2^53 or more as unsigned; as int64 it may be a small negative number.
    if (this.big >= TWO_63) this.big -= TWO_64;
    return this.big >= -MAX_SAFE && this.big <= MAX_SAFE ? Number(this.big) : NaN;
  }

  /** Reads a tag: field number * 8 + wire type. */
  tag(): number {
    const t = this.uint64();
    if (!(t <= 0xffffffff) || t < 8) throw new WireFormatError(`invalid tag ${Number.isNaN(t) ? this.big : t} at byte ${this.pos}`);
    return t;
  }

  /** Reads the length of a length-delimited field and returns the offset where it ends. */
  fieldEnd(): number {
    const start = this.pos;
    const n = this.uint64();
    const end = this.pos + n;
    if (!(end <= this.buf.length)) throw new WireFormatError(`a field at byte ${start} claims ${Number.isNaN(n) ? this.big : n} bytes, past the end of the data (${this.buf.length} bytes): truncated or corrupt`);
    return end;
  }

  /** Skips one varint without decoding it. */
  skipVarint(): void {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    while (p < buf.length && buf[p]! >= 0x80) p++;
    if (p >= buf.length) throw this.#truncated(p);
    if (p - start >= 10) throw new WireFormatError(`a varint at byte ${start} is longer than 10 bytes`);
    this.pos = p + 1;
  }

  /** Skips the value of a field of the given wire type. */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.skipVarint();
        return;
      case WIRE_LEN:
        this.pos = this.fieldEnd();
        return;
      case WIRE_I64:
        this.#advance(8);
        return;
      case WIRE_I32:
        this.#advance(4);
        return;
      default:
        throw new WireFormatError(`wire type ${wireType} at byte ${this.pos} does not exist (or is a deprecated group)`);
    }
  }

  /** Throws unless a message's fields ended exactly where its length said. */
  expectEnd(end: number, what: string): void {
    if (this.pos !== end) throw new WireFormatError(`${what} ending at byte ${end} has a field that runs past it, to byte ${this.pos}`);
  }

  #advance(n: number): void {
    if (this.pos + n > this.buf.length) throw this.#truncated(this.buf.length);
    this.pos += n;
  }

  #truncated(at: number): WireFormatError {
    return new WireFormatError(`the data ends inside a field at byte ${at}: truncated or corrupt`);
  }

  /** Any varint, bounds-checked byte by byte, in bigint arithmetic past 49 bits. */
  #careful(): number {
    const buf = this.buf;
    const start = this.pos;
    let value = 0n;
    for (let i = 0; i < 10; i++) {
      const p = start + i;
      if (p >= buf.length) throw this.#truncated(p);
      const c = buf[p]!;
      value |= BigInt(c & 0x7f) << BigInt(7 * i);
      if (c < 0x80) {
        if (value >= TWO_64) throw new WireFormatError(`a varint at byte ${start} is larger than 64 bits`);
        this.pos = p + 1;
        if (value <= MAX_SAFE) return Number(value);
        this.big = value;
        return NaN;
      }
    }
    throw new WireFormatError(`a varint at byte ${start} is longer than 10 bytes`);
  }
}
