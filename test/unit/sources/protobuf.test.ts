import { WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT, WireFormatError, WireReader } from '../../../src/sources/protobuf.ts';
import { lfield, varint, vfield } from '../../helpers/proto-writer.ts';

const reader = (bytes: number[]) => new WireReader(Uint8Array.from(bytes));

describe('varints', () => {
  it('reads 1- to 10-byte varints exactly up to 2^53 - 1', () => {
    // 2^(7k) - 1 takes k bytes of 0xff..0x7f; each is exact below 2^53.
    for (const v of [0, 1, 127, 128, 300, 2 ** 14, 2 ** 21 - 1, 2 ** 28, 2 ** 35 + 5, 2 ** 42 - 1, 2 ** 49, 2 ** 52 + 1, Number.MAX_SAFE_INTEGER]) {
      const r = reader([...varint(v), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // padding: the unrolled path
      expect(r.uint64()).toBe(v);
      const tight = reader(varint(v)); // no padding: the careful path
      expect(tight.uint64()).toBe(v);
      expect(tight.pos).toBe(varint(v).length);
    }
  });

  it('returns NaN beyond 2^53 - 1 and keeps the exact value in big', () => {
    const r = reader(varint(2n ** 53n));
    expect(r.uint64()).toBeNaN();
    expect(r.big).toBe(2n ** 53n);
    const max = reader(varint(2n ** 64n - 1n));
    expect(max.uint64()).toBeNaN();
    expect(max.big).toBe(2n ** 64n - 1n);
  });

  it('reads int64 two-complement negatives (10 bytes) as negative numbers', () => {
    expect(varint(-4096)).toHaveLength(10);
    expect(reader(varint(-4096)).int64()).toBe(-4096);
    expect(reader(varint(-Number.MAX_SAFE_INTEGER)).int64()).toBe(-Number.MAX_SAFE_INTEGER);
    const r = reader(varint(-(2n ** 60n)));
    expect(r.int64()).toBeNaN();
    expect(r.big).toBe(-(2n ** 60n));
    expect(reader(varint(2n ** 62n)).int64()).toBeNaN();
  });

  it('refuses a varint cut off by the end, longer than 10 bytes or wider than 64 bits', () => {
    expect(() => reader([0x80, 0x80]).uint64()).toThrow(/the data ends inside a field at byte 2/);
    expect(() => reader(Array(11).fill(0x80)).uint64()).toThrow(/longer than 10 bytes/);
    expect(() => reader([...Array(9).fill(0xff), 0x02]).uint64()).toThrow(/larger than 64 bits/);
    expect(() => reader(Array(12).fill(0x80)).skipVarint()).toThrow(WireFormatError);
  });
});

describe('fields', () => {
  it('skips every wire type and stops at the right byte', () => {
    const bytes = [...vfield(1, 300), ...lfield(2, [1, 2, 3]), 3 * 8 + WIRE_I64, 1, 2, 3, 4, 5, 6, 7, 8, 4 * 8 + WIRE_I32, 1, 2, 3, 4, ...vfield(5, 9)];
    const r = reader(bytes);
    const seen: number[] = [];
    while (r.pos < bytes.length) {
      const t = r.tag();
      seen.push(t >>> 3);
      if (t >>> 3 === 5) expect(r.uint64()).toBe(9);
      else r.skip(t & 7);
    }
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses a length past the end, a wire type that does not exist and field number 0', () => {
    expect(() => reader([10, 1, 2]).skip(WIRE_LEN)).toThrow(WireFormatError);
    const r = reader([2 * 8 + WIRE_LEN, 10, 1, 2]);
    r.tag();
    expect(() => r.fieldEnd()).toThrow(/claims 10 bytes, past the end of the data \(4 bytes\)/);
    expect(() => reader([1 * 8 + 6]).skip(6)).toThrow(/wire type 6/);
    expect(() => reader([0 * 8 + WIRE_VARINT, 1]).tag()).toThrow(/invalid tag 0/);
  });

  it('says when a message has a field running past its end', () => {
    const r = reader([...lfield(1, [8]), 1]); // the inner varint's tag claims a value past the message
    r.tag();
    const end = r.fieldEnd();
    r.tag();
    r.uint64();
    expect(() => r.expectEnd(end, 'a location')).toThrow(/a location ending at byte 3 has a field that runs past it, to byte 4/);
  });
});
