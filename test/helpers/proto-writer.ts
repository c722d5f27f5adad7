// A protobuf writer for tests: any field order, packed or not, malformed on purpose. Encoders
// like pprof-format always write one layout; real profiles (and broken ones) come in others.

/** A varint of a uint64 (a negative int64 as its two's complement, 10 bytes, as Go writes it). */
export function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  if (v < 0n) v += 2n ** 64n;
  const out: number[] = [];
  do {
    const low = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? low | 0x80 : low);
  } while (v > 0n);
  return out;
}

const tag = (field: number, wireType: number) => varint(field * 8 + wireType);

/** One varint field. */
export const vfield = (field: number, value: number | bigint): number[] => [...tag(field, 0), ...varint(value)];
/** One length-delimited field (a message, a string, a packed list). */
export const lfield = (field: number, body: number[]): number[] => [...tag(field, 2), ...varint(body.length), ...body];
/** A packed repeated varint field. */
export const packed = (field: number, values: (number | bigint)[]): number[] => lfield(field, values.flatMap((v) => varint(v)));
export const sfield = (field: number, s: string): number[] => lfield(field, [...Buffer.from(s, 'utf8')]);

/** profile.proto pieces, named for readability. */
export const pb = {
  sampleType: (typeIndex: number, unitIndex: number) => lfield(1, [...vfield(1, typeIndex), ...vfield(2, unitIndex)]),
  /** A sample with packed location ids and values. */
  sample: (locationIds: (number | bigint)[], values: (number | bigint)[]) => lfield(2, [...packed(1, locationIds), ...packed(2, values)]),
  /** A sample with one varint field per id and per value (Go writes lists of one or two so). */
  sampleUnpacked: (locationIds: (number | bigint)[], values: (number | bigint)[]) => lfield(2, [...locationIds.flatMap((id) => vfield(1, id)), ...values.flatMap((v) => vfield(2, v))]),
  location: (id: number | bigint, functionIds: (number | bigint)[], address = 0) => lfield(4, [...vfield(1, id), ...(address ? vfield(3, address) : []), ...functionIds.flatMap((f) => lfield(4, [...vfield(1, f), ...vfield(2, 7)]))]),
  function: (id: number | bigint, nameIndex: number | bigint) => lfield(5, [...vfield(1, id), ...vfield(2, nameIndex), ...vfield(4, nameIndex)]),
  string: (s: string) => sfield(6, s),
  timeNanos: (ns: number | bigint) => vfield(9, ns),
};
