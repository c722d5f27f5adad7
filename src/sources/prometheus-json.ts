// Prometheus HTTP API responses, read straight from the bytes (`memaudit scan`, the controller's
// backfill). A cluster's week of memory at a 1-minute step is gigabytes of JSON: JSON.parse
// builds a JS array and a string per point (measured here: ~35 MB/s and ~10x the body in heap),
// so the `values` of a matrix are scanned into typed arrays instead, and everything else (labels,
// status, warnings) is read as ordinary JSON values. Any key order and whitespace is accepted, as
// Thanos, Mimir and VictoriaMetrics write the same API with their own encoders.
//
//   {"status":"success","data":{"resultType":"matrix","result":[
//     {"metric":{"namespace":"shop",...},"values":[[1700000000,"123456"],[1700000060.5,"1.5e+09"]]}]},
//    "warnings":["..."]}
//   {"status":"error","errorType":"bad_data","error":"..."}
//
// Values are checked as the API writes them (strconv.FormatFloat 'f'/'e', or NaN, +Inf, -Inf);
// anything else is an InputError naming where it is.
import { InputError } from '../errors.ts';

export interface MatrixSeries {
  labels: Record<string, string>;
  /** Milliseconds since the epoch, ascending as the API returns them. */
  timestampsMs: Float64Array;
  /** NaN where the API said NaN; ±Infinity for ±Inf. */
  values: Float64Array;
}

export type ApiResponse<T> = { status: 'success'; data: T; warnings: string[] } | { status: 'error'; errorType: string; error: string; warnings: string[] };

export interface Matrix {
  resultType: string;
  series: MatrixSeries[];
}

const Q = 0x22; // "
const BS = 0x5c; // \
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACK = 0x5b;
const RBRACK = 0x5d;

class Scanner {
  readonly b: Uint8Array;
  i = 0;
  readonly source: string;

  constructor(b: Uint8Array, source: string) {
    this.b = b;
    this.source = source;
  }

  fail(what: string): never {
    const around = Buffer.from(this.b.subarray(Math.max(0, this.i - 20), Math.min(this.b.length, this.i + 20))).toString('utf8');
    throw new InputError(this.source, `not a Prometheus API response: ${what} at byte ${this.i} (near ${JSON.stringify(around)})`);
  }

  ws(): void {
    const b = this.b;
    let i = this.i;
    while (i < b.length) {
      const c = b[i]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    this.i = i;
  }

  expect(c: number, what: string): void {
    this.ws();
    if (this.b[this.i] !== c) this.fail(`expected ${what}`);
    this.i++;
  }

  /** After a value in an object or array: true when another follows (a comma), false at the closing bracket. */
  more(close: number): boolean {
    this.ws();
    const c = this.b[this.i];
    if (c === COMMA) {
      this.i++;
      return true;
    }
    if (c === close) {
      this.i++;
      return false;
    }
    return this.fail(`expected , or ${String.fromCharCode(close)}`);
  }

  /** Opens an object or array; true when it is not empty. */
  open(c: number, what: string): boolean {
    this.expect(c, what);
    this.ws();
    const close = c === LBRACE ? RBRACE : RBRACK;
    if (this.b[this.i] === close) {
      this.i++;
      return false;
    }
    return true;
  }

  peek(): number | undefined {
    this.ws();
    return this.b[this.i];
  }

  string(): string {
    this.expect(Q, 'a string');
    const b = this.b;
    const start = this.i;
    let i = start;
    let escaped = false;
    while (i < b.length && b[i] !== Q) {
      if (b[i] === BS) {
        escaped = true;
        i++;
      }
      i++;
    }
    if (i >= b.length) {
      this.i = b.length; // at the end: a cut-off input, which MatrixStream tells from a bad one
      this.fail('unterminated string');
    }
    this.i = i + 1;
    if (!escaped) return Buffer.from(b.buffer, b.byteOffset + start, i - start).toString('utf8');
    try {
      return JSON.parse(Buffer.from(b.buffer, b.byteOffset + start - 1, i - start + 2).toString('utf8')) as string;
    } catch {
      return this.fail('bad escape in a string');
    }
  }

  /** A JSON number, as written (for timestamps). */
  number(): number {
    this.ws();
    const b = this.b;
    const start = this.i;
    let i = start;
    let int = 0;
    let simple = true;
    if (b[i] === 0x2d) {
      simple = false;
      i++;
    }
    const digits = i;
    while (i < b.length && b[i]! >= 0x30 && b[i]! <= 0x39) int = int * 10 + (b[i++]! - 0x30);
    if (i === digits) this.fail('expected a number');
    let frac = 0;
    let scale = 1;
    if (b[i] === 0x2e) {
      i++;
      const f = i;
      while (i < b.length && b[i]! >= 0x30 && b[i]! <= 0x39) {
        frac = frac * 10 + (b[i++]! - 0x30);
        scale *= 10;
      }
      if (i === f) this.fail('bad number');
    }
    if (b[i] === 0x65 || b[i] === 0x45) {
      simple = false;
      i++;
      if (b[i] === 0x2b || b[i] === 0x2d) i++;
      while (i < b.length && b[i]! >= 0x30 && b[i]! <= 0x39) i++;
    }
    this.i = i;
    // Up to 15 significant digits the arithmetic is exact; otherwise let the engine round.
    if (simple && i - start <= 15) return int + frac / scale;
    const n = Number(Buffer.from(b.buffer, b.byteOffset + start, i - start).toString('latin1'));
    if (!Number.isFinite(n)) this.fail('bad number');
    return n;
  }

  /** A sample value: a string holding a decimal float, NaN or ±Inf. */
  sampleValue(): number {
    this.expect(Q, 'a sample value in quotes');
    const b = this.b;
    const start = this.i;
    let i = start;
    let int = 0;
    while (i < b.length && b[i]! >= 0x30 && b[i]! <= 0x39) int = int * 10 + (b[i++]! - 0x30);
    if (b[i] === Q && i > start && i - start <= 15) {
      this.i = i + 1;
      return int;
    }
    while (i < b.length && b[i] !== Q) i++;
    if (i >= b.length) {
      this.i = b.length;
      this.fail('unterminated sample value');
    }
    this.i = i + 1;
    const text = Buffer.from(b.buffer, b.byteOffset + start, i - start).toString('latin1');
    if (text === 'NaN') return NaN;
    if (text === '+Inf' || text === 'Inf') return Infinity;
    if (text === '-Inf') return -Infinity;
    if (!PROM_FLOAT.test(text)) {
      this.i = start;
      return this.fail(`sample value ${JSON.stringify(text.slice(0, 40))} is not a decimal number`);
    }
    return Number(text);
  }

  /** Any JSON value, for the small parts of a response. */
  value(): unknown {
    const c = this.peek();
    if (c === Q) return this.string();
    if (c === LBRACE) {
      const o: Record<string, unknown> = {};
      if (this.open(LBRACE, '{'))
        do {
          const k = this.string();
          this.expect(COLON, ':');
          o[k] = this.value();
        } while (this.more(RBRACE));
      return o;
    }
    if (c === LBRACK) {
      const a: unknown[] = [];
      if (this.open(LBRACK, '['))
        do a.push(this.value());
        while (this.more(RBRACK));
      return a;
    }
    for (const [word, v] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (Buffer.from(this.b.buffer, this.b.byteOffset + this.i, word.length).toString('latin1') === word) {
        this.i += word.length;
        return v;
      }
    }
    return this.number();
  }
}

/** A sample value as strconv.FormatFloat writes it. */
const PROM_FLOAT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * `values` of a matrix series: [[t, "v"], ...] into typed arrays (grown by doubling). The hot loop
 * of a scan: one pass over the bytes, with locals only, for the shape Prometheus writes (seconds
 * with up to 3 decimals, a value of digits, no whitespace); anything else at a point goes through
 * the Scanner's checked readers.
 */
function scanValues(s: Scanner, capacity: number): { timestampsMs: Float64Array; values: Float64Array } {
  let ts = new Float64Array(capacity);
  let vs = new Float64Array(capacity);
  let n = 0;
  const b = s.b;
  if (s.open(LBRACK, '[')) {
    let i = s.i;
    for (;;) {
      let t = -1;
      let v = 0;
      if (b[i] === LBRACK) {
        let j = i + 1;
        let c = b[j];
        let sec = 0;
        while (c !== undefined && c >= 0x30 && c <= 0x39) {
          sec = sec * 10 + (c - 0x30);
          c = b[++j];
        }
        let ms = sec * 1000;
        let ok = j > i + 1 && j - i <= 13;
        if (ok && c === 0x2e) {
          c = b[++j];
          let scale = 100;
          const f0 = j;
          while (c !== undefined && c >= 0x30 && c <= 0x39) {
            if (scale >= 1) ms += (c - 0x30) * scale;
            else if (scale === 0.1 && c >= 0x35) ms += 1;
            scale /= 10;
            c = b[++j];
          }
          ok = j > f0;
        }
        if (ok && c === COMMA && b[j + 1] === Q) {
          j += 2;
          const v0 = j;
          c = b[j];
          while (c !== undefined && c >= 0x30 && c <= 0x39) {
            v = v * 10 + (c - 0x30);
            c = b[++j];
          }
          if (j > v0 && j - v0 <= 15 && c === Q && b[j + 1] === RBRACK) {
            t = Math.floor(ms);
            i = j + 2;
          }
        }
      }
      if (t < 0) {
        s.i = i;
        s.expect(LBRACK, '[time, "value"]');
        t = Math.round(s.number() * 1000);
        s.expect(COMMA, ', between time and value');
        v = s.sampleValue();
        s.expect(RBRACK, '] after a [time, "value"] pair');
        i = s.i;
      }
      if (n === ts.length) {
        const t2 = new Float64Array(n * 2);
        t2.set(ts);
        ts = t2;
        const v2 = new Float64Array(n * 2);
        v2.set(vs);
        vs = v2;
      }
      ts[n] = t;
      vs[n] = v;
      n++;
      const c = b[i];
      if (c === COMMA) {
        i++;
        continue;
      }
      if (c === RBRACK) {
        i++;
        break;
      }
      s.i = i;
      const more = s.more(RBRACK);
      i = s.i;
      if (!more) break;
    }
    s.i = i;
  }
  // The expected size (a query's points) needs no copy.
  return n === ts.length ? { timestampsMs: ts, values: vs } : { timestampsMs: ts.slice(0, n), values: vs.slice(0, n) };
}

function scanSeries(s: Scanner, capacity = 1024): MatrixSeries | null {
  let labels: Record<string, string> = {};
  let points: { timestampsMs: Float64Array; values: Float64Array } | null = null;
  if (s.open(LBRACE, '{ of a series'))
    do {
      const k = s.string();
      s.expect(COLON, ':');
      if (k === 'metric') {
        const m = s.value();
        if (typeof m !== 'object' || m === null || Array.isArray(m)) s.fail('"metric" must be an object of labels');
        for (const [name, v] of Object.entries(m as Record<string, unknown>)) if (typeof v !== 'string') s.fail(`label ${name} must be a string`);
        labels = m as Record<string, string>;
      } else if (k === 'values') points = scanValues(s, capacity);
      else s.value(); // "value" (a vector), "histograms" (native histograms): not memory series
    } while (s.more(RBRACE));
  return points ? { labels, ...points } : null;
}

function scanResult(s: Scanner): MatrixSeries[] | unknown {
  if (s.peek() !== LBRACK) return s.value();
  const out: MatrixSeries[] = [];
  const start = s.i;
  if (s.open(LBRACK, '[')) {
    if (s.peek() !== LBRACE) {
      // A scalar or string result: [t, "v"].
      s.i = start;
      return s.value();
    }
    do {
      const series = scanSeries(s);
      if (series) out.push(series);
    } while (s.more(RBRACK));
  }
  return out;
}

function scanEnvelope<T>(body: Uint8Array, source: string, data: (s: Scanner) => T): ApiResponse<T> {
  const s = new Scanner(body, source);
  let status: unknown;
  let errorType: unknown;
  let error: unknown;
  let payload: T | undefined;
  let warnings: string[] = [];
  if (s.open(LBRACE, 'a JSON object'))
    do {
      const k = s.string();
      s.expect(COLON, ':');
      if (k === 'status') status = s.value();
      else if (k === 'errorType') errorType = s.value();
      else if (k === 'error') error = s.value();
      else if (k === 'data') payload = data(s);
      else if (k === 'warnings' || k === 'infos') {
        const w = s.value();
        if (Array.isArray(w)) warnings = [...warnings, ...w.filter((x): x is string => typeof x === 'string')];
      } else s.value();
    } while (s.more(RBRACE));
  s.ws();
  if (s.i !== body.length) s.fail('trailing data after the response');
  if (status === 'error') return { status: 'error', errorType: typeof errorType === 'string' ? errorType : '', error: typeof error === 'string' ? error : '', warnings };
  if (status !== 'success') return s.fail(`"status" is ${JSON.stringify(status)}, expected "success" or "error"`);
  if (payload === undefined) return s.fail('no "data"');
  return { status: 'success', data: payload, warnings };
}

/** A /api/v1/query_range (or /api/v1/query) response. resultType is whatever the server said. */
export function parseQueryResponse(body: Uint8Array, source: string): ApiResponse<Matrix> {
  return scanEnvelope(body, source, (s) => {
    let resultType = '';
    let series: MatrixSeries[] = [];
    let sawResult = false;
    if (s.open(LBRACE, '{ of "data"'))
      do {
        const k = s.string();
        s.expect(COLON, ':');
        if (k === 'resultType') {
          const t = s.value();
          resultType = typeof t === 'string' ? t : '';
        } else if (k === 'result') {
          const r = scanResult(s);
          sawResult = true;
          series = Array.isArray(r) && r.every((x) => typeof x === 'object' && x !== null && 'timestampsMs' in x) ? (r as MatrixSeries[]) : [];
        } else s.value();
      } while (s.more(RBRACE));
    if (!sawResult) s.fail('no "data.result"');
    return { resultType, series };
  });
}

/** The body of an HTTP error: the API's error object (status "error"); anything else is an InputError. */
export function parseErrorResponse(body: Uint8Array, source: string): ApiResponse<unknown> {
  return scanEnvelope(body, source, (s) => s.value());
}

/** A /api/v1/series response: the label sets. */
export function parseSeriesResponse(body: Uint8Array, source: string): ApiResponse<Record<string, string>[]> {
  return scanEnvelope(body, source, (s) => {
    const v = s.value();
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'object' && x !== null && !Array.isArray(x) && Object.values(x).every((l) => typeof l === 'string'))) s.fail('"data" of /api/v1/series must be an array of label objects');
    return v as Record<string, string>[];
  });
}

/** A /api/v1/label/NAME/values response. */
export function parseLabelValuesResponse(body: Uint8Array, source: string): ApiResponse<string[]> {
  return scanEnvelope(body, source, (s) => {
    const v = s.value();
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) s.fail('"data" of /api/v1/label/.../values must be an array of strings');
    return v as string[];
  });
}

/**
 * The start of a matrix response as Prometheus, Thanos, Mimir and VictoriaMetrics write it: compact
 * JSON, status first (VictoriaMetrics adds isPartial). Pretty-printed JSON is read whole.
 */
const MATRIX_PREFIX = /^\{"status":"success",(?:"isPartial":(?:true|false),)?"data":\{"resultType":"matrix","result":\[/;
/** How a matrix series ends in those encoders ("metric" first, then "values"): the values, the object. */
const SERIES_END = Buffer.from(']}');

/**
 * A query_range response read as it arrives, one series at a time, so a response of hundreds of
 * megabytes never sits in memory whole: only the series being received and the typed arrays of
 * those read. For a body that starts as the known encoders start a matrix (MATRIX_PREFIX); each
 * series is cut at its `]}` and read by the same scanner as parseQueryResponse (a `]}` inside a
 * label value is recognised as such: the series is read again up to the next one). Anything else
 * (an error, another encoder's key order) is buffered and read whole at the end.
 */
export class MatrixStream {
  readonly #source: string;
  readonly #capacity: number;
  #chunks: Buffer[] = [];
  #mode: 'prefix' | 'series' | 'suffix' | 'whole' = 'prefix';
  #prefix = '';
  readonly #series: MatrixSeries[] = [];
  /** The last byte before the newest chunk, to find a `]}` split across chunks. */
  #tail = Buffer.alloc(0);

  /** `pointsPerSeries`: the points the query asks for, so the arrays are sized once. */
  constructor(source: string, pointsPerSeries = 1024) {
    this.#source = source;
    this.#capacity = Math.max(1, pointsPerSeries);
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    if (this.#mode === 'prefix') this.#readPrefix(false);
    if (this.#mode !== 'series') return;
    // Read only when a series may have ended: a `]}` in the new bytes.
    const seam = Buffer.concat([this.#tail, chunk.subarray(0, 1)]);
    if (chunk.indexOf(SERIES_END) >= 0 || seam.indexOf(SERIES_END) >= 0) this.#readSeries(false);
    else this.#tail = Buffer.from(chunk.subarray(Math.max(0, chunk.length - 1)));
  }

  end(): ApiResponse<Matrix> {
    if (this.#mode === 'prefix') this.#readPrefix(true);
    if (this.#mode === 'series') this.#readSeries(true);
    const rest = Buffer.concat(this.#chunks);
    this.#chunks = [];
    if (this.#mode === 'whole') return parseQueryResponse(rest, this.#source);
    if (this.#mode === 'series') throw new InputError(this.#source, 'not a Prometheus API response: it ends inside data.result');
    // The envelope around the series: the prefix, an empty result, what followed it.
    const envelope = parseQueryResponse(Buffer.concat([Buffer.from(this.#prefix, 'latin1'), Buffer.from(']'), rest]), this.#source);
    if (envelope.status !== 'success') return envelope;
    return { status: 'success', data: { resultType: envelope.data.resultType, series: this.#series }, warnings: envelope.warnings };
  }

  #readPrefix(atEnd: boolean): void {
    const head = Buffer.concat(this.#chunks);
    const m = MATRIX_PREFIX.exec(head.subarray(0, 512).toString('latin1'));
    if (m) {
      this.#prefix = m[0];
      this.#chunks = [head.subarray(m[0].length)];
      this.#mode = 'series';
    } else if (atEnd || head.length >= 512) {
      this.#chunks = [head];
      this.#mode = 'whole';
    } else this.#chunks = [head];
  }

  #readSeries(atEnd: boolean): void {
    const buf = Buffer.concat(this.#chunks);
    let pos = 0;
    for (;;) {
      while (pos < buf.length && (buf[pos] === 0x20 || buf[pos] === 0x0a || buf[pos] === 0x0d || buf[pos] === 0x09 || buf[pos] === COMMA)) pos++;
      if (pos >= buf.length) break;
      if (buf[pos] === RBRACK) {
        this.#mode = 'suffix';
        pos++;
        break;
      }
      let end = buf.indexOf(SERIES_END, pos);
      let read: MatrixSeries | null | undefined;
      while (end >= 0) {
        const view = buf.subarray(pos, end + SERIES_END.length);
        const s = new Scanner(view, this.#source);
        try {
          read = scanSeries(s, this.#capacity);
          s.ws();
          if (s.i === view.length) break;
          s.fail('trailing data after a series');
        } catch (e) {
          // Cut inside the series (a `]}` in a label value): read again up to the next one.
          if (!(e instanceof InputError) || s.i < view.length - 1) throw e;
        }
        read = undefined;
        end = buf.indexOf(SERIES_END, end + 1);
      }
      if (read === undefined) {
        if (atEnd) throw new InputError(this.#source, 'not a Prometheus API response: a series of data.result is cut off');
        break;
      }
      if (read) this.#series.push(read);
      pos = end + SERIES_END.length;
    }
    // What is left: the start of the next series (copied, so the bytes read can be freed), or the suffix.
    this.#chunks = [Buffer.from(buf.subarray(pos))];
    this.#tail = Buffer.from(buf.subarray(Math.max(pos, buf.length - 1)));
  }
}
