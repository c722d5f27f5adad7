import { InputError } from '../errors.ts';
import type { MemorySample } from '../model/sample.ts';
import { noData, type NoData } from '../model/no-data.ts';

/**
 * kubelet `/metrics/cadvisor` (Prometheus text exposition format) -> one MemorySample per
 * (namespace, pod, container).
 *
 * Label sets differ by kubelet version: `container` / `pod` / `namespace` since Kubernetes 1.16,
 * `container_name` / `pod_name` before. Pod-level cgroups (`container=""`) and the sandbox
 * (`container="POD"` with dockershim; `container=""` with an image of pause under containerd) are
 * not containers and are skipped.
 *
 * Metric -> sample field (docs/memory-model.md):
 *   container_memory_usage_bytes               -> usageBytes (memory.current / usage_in_bytes)
 *   container_memory_working_set_bytes         -> workingSetBytes
 *   container_memory_cache                     -> fileBytes (v1 total_cache / v2 file; includes shmem)
 *   container_memory_rss                       -> anonBytes (v1 total_rss / v2 anon)
 *   container_memory_mapped_file               -> mappedFileBytes
 *   container_memory_total_active_file_bytes   -> activeFileBytes   (cAdvisor >= 0.47)
 *   container_memory_total_inactive_file_bytes -> inactiveFileBytes (cAdvisor >= 0.47)
 *   container_memory_kernel_usage              -> kernelBytes
 *   container_spec_memory_limit_bytes          -> limitBytes (0 = no limit)
 * and the reclaim counters (docs/memory-model.md, "Reclaim evidence"):
 *   container_memory_failcnt                                            -> failCount (cgroup v1)
 *   container_memory_failures_total{failure_type="pgmajfault",scope="container"} -> majorFaultCount
 *   container_pressure_memory_waiting_seconds_total (PSI "some", cAdvisor >= 0.50) -> pressureSomeMicros
 *   container_pressure_memory_stalled_seconds_total (PSI "full")        -> pressureFullMicros
 * cAdvisor exports no refault counter. container_memory_swap is read but MemorySample has no swap
 * field yet, so it is dropped.
 */

/** Identity of a Kubernetes container across kubelet sources (cAdvisor, summary API, Prometheus). */
export interface ContainerKey {
  namespace: string;
  pod: string;
  container: string;
}

export interface ContainerSample {
  key: ContainerKey;
  sample: MemorySample;
}

export const containerKeyString = (k: ContainerKey): string => `${k.namespace}/${k.pod}/${k.container}`;

/** Field each cAdvisor memory metric fills. Shared with the Prometheus query_range source. */
export const CADVISOR_MEMORY_METRICS: Readonly<Record<string, keyof MemorySample>> = {
  container_memory_usage_bytes: 'usageBytes',
  container_memory_working_set_bytes: 'workingSetBytes',
  container_memory_cache: 'fileBytes',
  container_memory_rss: 'anonBytes',
  container_memory_mapped_file: 'mappedFileBytes',
  container_memory_total_active_file_bytes: 'activeFileBytes',
  container_memory_total_inactive_file_bytes: 'inactiveFileBytes',
  container_memory_kernel_usage: 'kernelBytes',
  container_spec_memory_limit_bytes: 'limitBytes',
};

/** What a cAdvisor series holds: bytes, the limit (0 or ~2^63 = none), a count, or seconds. */
export type CadvisorValueKind = 'bytes' | 'limit' | 'count' | 'seconds';

export interface CadvisorField {
  field: keyof MemorySample;
  kind: CadvisorValueKind;
}

const RECLAIM_METRICS: Readonly<Record<string, CadvisorField>> = {
  container_memory_failcnt: { field: 'failCount', kind: 'count' },
  container_pressure_memory_waiting_seconds_total: { field: 'pressureSomeMicros', kind: 'seconds' },
  container_pressure_memory_stalled_seconds_total: { field: 'pressureFullMicros', kind: 'seconds' },
};
const FAILURES_METRIC = 'container_memory_failures_total';
const SWAP_METRIC = 'container_memory_swap';

/**
 * The sample field a cAdvisor series fills: a CadvisorField, null for a memory series memaudit
 * does not use (swap, minor faults, the hierarchy scope), undefined for any other metric.
 */
export function cadvisorField(name: string, labels: Readonly<Record<string, string>>): CadvisorField | null | undefined {
  const memory = CADVISOR_MEMORY_METRICS[name];
  if (memory !== undefined) return { field: memory, kind: memory === 'limitBytes' ? 'limit' : 'bytes' };
  const reclaim = RECLAIM_METRICS[name];
  if (reclaim !== undefined) return reclaim;
  if (name === FAILURES_METRIC) return labels.failure_type === 'pgmajfault' && (labels.scope === undefined || labels.scope === 'container') ? { field: 'majorFaultCount', kind: 'count' } : null;
  if (name === SWAP_METRIC) return null;
  return undefined;
}

/**
 * cgroup v1 reports "no limit" as ~2^63; cAdvisor passes that through on some versions and 0 on
 * others. Both mean unlimited.
 */
const UNLIMITED_THRESHOLD_BYTES = 2 ** 62;

/** limitBytes from a container_spec_memory_limit_bytes value: undefined when unlimited. */
export function limitBytesFromSpec(value: number): number | undefined {
  if (!Number.isFinite(value) || value <= 0 || value >= UNLIMITED_THRESHOLD_BYTES) return undefined;
  return value;
}

/** Reads the container identity from either label generation; null when the series is not a container. */
export function containerKeyFromLabels(labels: Readonly<Record<string, string>>): ContainerKey | null {
  const container = labels.container ?? labels.container_name ?? '';
  const pod = labels.pod ?? labels.pod_name ?? '';
  const namespace = labels.namespace ?? '';
  if (container === '' || container === 'POD' || pod === '' || namespace === '') return null;
  return { namespace, pod, container };
}

// ---------------------------------------------------------------------------------------------
// Prometheus text format tokenizer.
//
// Written by hand on purpose: the one npm parser for this format (parse-prometheus-text-format,
// prom2json-compatible output) drops sample timestamps, and kubelet's /metrics/cadvisor puts the
// cAdvisor housekeeping time on every sample, which is the time the numbers were read (up to
// ~15 s older than the scrape). prom-client only writes the format. The grammar is small:
// https://prometheus.io/docs/instrumenting/exposition_formats/#text-format-details
// ---------------------------------------------------------------------------------------------

export interface PromTextSample {
  name: string;
  labels: Record<string, string>;
  /** NaN, +Inf and -Inf are kept as the JS values. */
  value: number;
  /** Milliseconds since the epoch, when the exposition carried one. */
  timestampMs?: number;
}

const NAME = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;

/**
 * Parses the Prometheus text exposition format. `wanted`, when given, skips every other metric
 * before its labels are parsed (a kubelet scrape is megabytes, memory metrics a small part).
 * HELP, TYPE and other comments are skipped.
 */
export function parsePrometheusText(text: string, source: string, wanted?: ReadonlySet<string>): PromTextSample[] {
  const out: PromTextSample[] = [];
  let lineNo = 0;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '' || line.charCodeAt(0) === 35 /* # */) continue;
    const sample = parseSampleLine(line, source, lineNo, wanted);
    if (sample) out.push(sample);
  }
  return out;
}

function parseSampleLine(line: string, source: string, lineNo: number, wanted?: ReadonlySet<string>): PromTextSample | null {
  const fail = (what: string): never => {
    throw new InputError(source, `expected a Prometheus text-format sample (name{labels} value [timestamp]): ${what} in ${JSON.stringify(line.slice(0, 120))}`, { line: lineNo });
  };
  NAME.lastIndex = 0;
  if (!NAME.test(line)) fail('bad metric name');
  let i = NAME.lastIndex;
  const name = line.slice(0, i);
  if (wanted && !wanted.has(name)) return null;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === '\t' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      LABEL_NAME.lastIndex = i;
      if (!LABEL_NAME.test(line)) fail('bad label name');
      const key = line.slice(i, LABEL_NAME.lastIndex);
      i = LABEL_NAME.lastIndex;
      while (line[i] === ' ') i++;
      if (line[i] !== '=') fail(`no "=" after label ${key}`);
      i++;
      while (line[i] === ' ') i++;
      if (line[i] !== '"') fail(`label ${key} value is not quoted`);
      i++;
      let value = '';
      for (;;) {
        const q = line.indexOf('"', i);
        const b = line.indexOf('\\', i);
        if (q < 0) fail(`unterminated value of label ${key}`);
        if (b < 0 || q < b) {
          value += line.slice(i, q);
          i = q + 1;
          break;
        }
        value += line.slice(i, b);
        const e = line[b + 1];
        if (e === 'n') value += '\n';
        else if (e === '\\' || e === '"') value += e;
        else if (e === undefined) fail(`unterminated value of label ${key}`);
        else value += `\\${e}`;
        i = b + 2;
      }
      labels[key] = value;
    }
  }
  const rest = line.slice(i).trim().split(/[ \t]+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === '') fail('expected a value and an optional timestamp');
  const value = parseFloatToken(rest[0]!);
  if (value === undefined) fail(`bad value ${JSON.stringify(rest[0])}`);
  const sample: PromTextSample = { name, labels, value: value! };
  if (rest.length === 2) {
    if (!/^-?\d+$/.test(rest[1]!)) fail(`bad timestamp ${JSON.stringify(rest[1])}`);
    sample.timestampMs = Number(rest[1]);
  }
  return sample;
}

function parseFloatToken(t: string): number | undefined {
  switch (t) {
    case 'NaN':
      return NaN;
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

// ---------------------------------------------------------------------------------------------

export interface CadvisorScrape {
  containers: ContainerSample[];
  /** Containers seen in memory metrics but without container_memory_usage_bytes, or with 0 (not sampled). */
  withoutUsage: ContainerKey[];
}

export interface CadvisorOptions {
  /** Name of the input for errors (file path or URL). */
  source: string;
  /** When the scrape was taken; used for samples that carry no timestamp of their own. */
  scrapeTimeMs: number;
  /** Only these containers (the rest of the scrape is skipped without building anything for it); all when absent. */
  select?: ContainerSelection;
}

const WANTED = new Set([...Object.keys(CADVISOR_MEMORY_METRICS), ...Object.keys(RECLAIM_METRICS), FAILURES_METRIC, SWAP_METRIC]);

/**
 * Parses one `/metrics/cadvisor` scrape. A container whose cgroup was recreated (restart) can
 * appear twice with different `id` labels for one scrape; the cgroup with the newest
 * container_memory_usage_bytes timestamp wins. A usage of 0 is an empty cgroup, never a running
 * container: a kubelet (v1.35 with containerd 1.6) keeps serving an exited container's series for
 * a while after its restart, all zeros with fresh timestamps, beside the new one's or alone. Such
 * a series is not the container's sample.
 */
export function parseCadvisorMetrics(text: string, options: CadvisorOptions): CadvisorScrape {
  return scanCadvisorMetrics(Buffer.from(text, 'utf8'), options);
}

// ---------------------------------------------------------------------------------------------
// The scrape read as bytes. A kubelet's /metrics/cadvisor is megabytes per node (some 60 series
// for every container, pod cgroup and pause container: CPU, file systems, block I/O, network,
// processes, memory), of which memaudit reads the memory families of the containers its audits
// select. So the scanner
// - never turns the body into a string: it walks the bytes (Buffer.indexOf is a native memchr);
// - skips a whole family it does not read at once: the exposition format writes every family as
//   one group after its `# HELP` / `# TYPE` lines, so the family ends where the next comment line
//   starts (checked: the line just before it must still be of that family, else it goes line by
//   line);
// - reads, on a line of a family it wants, only the labels that say whose series it is
//   (container, pod, namespace and their pre-1.16 names; id; failure_type and scope), and looks
//   the container up in the selection by a hash of those bytes: an unselected container's line
//   costs no string and no object (without a selection, as the controller reads a node, each
//   container's strings are made once a scrape, found again by the same hash);
// - leaves a line at its first label when that is `container=""` (a pod's cgroup) or
//   `container="POD"` (the sandbox): two of every three memory lines of a kubelet; and a failure
//   count at its `failure_type` unless that is a major fault;
// - reads a line whose label block has the same bytes as the one at its place in the family
//   before (one native compare) from its value on, as whose series it is is known: every family
//   lists the same cgroups in the same order, so all but the first family's lines and the failure
//   counts' are read so, about two thirds of the time of reading them label by label;
// - builds strings and samples for selected containers only, as copies (nothing it returns points
//   into the body).
// The same rules as the text parser it replaced: the same samples from the same scrape
// (test/unit/sources/cadvisor.test.ts compares them on generated fleets).
// ---------------------------------------------------------------------------------------------

/**
 * Containers looked up by the bytes of their labels: the ones a scan keeps (a selection), or,
 * without one, the ones a scan has met (its strings made once a scrape, not once a line).
 */
export class ContainerSelection {
  readonly #byHash = new Map<number, { key: ContainerKey; text: string; bytes: [Uint8Array, Uint8Array, Uint8Array] }[]>();
  #size = 0;

  constructor(keys: Iterable<ContainerKey>) {
    for (const key of keys) this.add(key);
  }

  get size(): number {
    return this.#size;
  }

  /** The key held for this container: the one added before, or a copy of this one. */
  add(key: ContainerKey): ContainerKey {
    const bytes: [Uint8Array, Uint8Array, Uint8Array] = [Buffer.from(key.namespace, 'utf8'), Buffer.from(key.pod, 'utf8'), Buffer.from(key.container, 'utf8')];
    const h = keyHash(bytes[0], 0, bytes[0].length, bytes[1], 0, bytes[1].length, bytes[2], 0, bytes[2].length);
    const list = this.#byHash.get(h) ?? [];
    const text = containerKeyString(key);
    const known = list.find((e) => e.text === text);
    if (known) return known.key;
    const held = { namespace: key.namespace, pod: key.pod, container: key.container };
    list.push({ key: held, text, bytes });
    this.#byHash.set(h, list);
    this.#size++;
    return held;
  }

  has(key: ContainerKey): boolean {
    const b = [Buffer.from(key.namespace), Buffer.from(key.pod), Buffer.from(key.container)] as const;
    return this.find(b[0], 0, b[0].length, b[1], 0, b[1].length, b[2], 0, b[2].length) !== undefined;
  }

  /** The selected key whose namespace, pod and container are these byte ranges, if any. */
  find(nb: Uint8Array, ns: number, ne: number, pb: Uint8Array, ps: number, pe: number, cb: Uint8Array, cs: number, ce: number): { key: ContainerKey; text: string } | undefined {
    const list = this.#byHash.get(keyHash(nb, ns, ne, pb, ps, pe, cb, cs, ce));
    if (!list) return undefined;
    for (const e of list) if (bytesEqual(e.bytes[0], nb, ns, ne) && bytesEqual(e.bytes[1], pb, ps, pe) && bytesEqual(e.bytes[2], cb, cs, ce)) return e;
    return undefined;
  }
}

/** FNV-1a over namespace, 0, pod, 0, container. */
function keyHash(nb: Uint8Array, ns: number, ne: number, pb: Uint8Array, ps: number, pe: number, cb: Uint8Array, cs: number, ce: number): number {
  let h = 0x811c9dc5;
  for (let i = ns; i < ne; i++) h = Math.imul(h ^ nb[i]!, 0x01000193);
  h = Math.imul(h, 0x01000193);
  for (let i = ps; i < pe; i++) h = Math.imul(h ^ pb[i]!, 0x01000193);
  h = Math.imul(h, 0x01000193);
  for (let i = cs; i < ce; i++) h = Math.imul(h ^ cb[i]!, 0x01000193);
  return h >>> 0;
}

function bytesEqual(a: Uint8Array, b: Uint8Array, s: number, e: number): boolean {
  if (a.length !== e - s) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[s + i]) return false;
  return true;
}

/** What a wanted family fills, decided once per family name. */
type FamilyRule = { kind: 'field'; field: CadvisorField } | { kind: 'failures' } | { kind: 'swap' };

const FAMILY_RULES = new Map<string, FamilyRule>();
for (const name of WANTED) {
  if (name === FAILURES_METRIC) FAMILY_RULES.set(name, { kind: 'failures' });
  else if (name === SWAP_METRIC) FAMILY_RULES.set(name, { kind: 'swap' });
  else FAMILY_RULES.set(name, { kind: 'field', field: cadvisorField(name, {})! });
}

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1');
/** Label names the scanner reads; every other label is stepped over. */
const L_CONTAINER = ascii('container');
const L_CONTAINER_NAME = ascii('container_name');
const L_POD = ascii('pod');
const L_POD_NAME = ascii('pod_name');
const L_NAMESPACE = ascii('namespace');
const L_ID = ascii('id');
const L_FAILURE_TYPE = ascii('failure_type');
const L_SCOPE = ascii('scope');
const V_PGMAJFAULT = ascii('pgmajfault');
const V_CONTAINER = ascii('container');
const V_POD = ascii('POD');
const HELP = ascii('# HELP ');
const TYPE = ascii('# TYPE ');

const NL = 10;
const HASH = 35;
const QUOTE = 34;
const BACKSLASH = 92;

const isNameStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
const isNameChar = (c: number) => isNameStart(c) || (c >= 48 && c <= 57);
const isLabelStart = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
const isLabelChar = (c: number) => isLabelStart(c) || (c >= 48 && c <= 57);
const isBlank = (c: number) => c === 32 || c === 9 || c === 13;

/**
 * Whether buf[a, a + n) and buf[b, b + n) hold the same bytes. A loop, not Buffer.compare: the
 * ranges are label values and metric names of tens of bytes, compared several times a line, and
 * the native call cost more than the comparing (a fifth of the scan's time in a profile).
 */
function sameBytes(buf: Uint8Array, a: number, b: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (buf[a + k] !== buf[b + k]) return false;
  return true;
}

function rangeIs(b: Uint8Array, s: number, e: number, want: Uint8Array): boolean {
  return bytesEqual(want, b, s, e);
}

/** One label value's place in the body, and whether it holds escapes (then it is decoded apart). */
interface ValueRange {
  s: number;
  e: number;
  escaped: boolean;
}

type CgroupEntry = {
  key: ContainerKey;
  cgroupId: string | undefined;
  /** Where the id was first read (unescaped), to know the cgroup again by its bytes. */
  idStart: number;
  idEnd: number;
  fields: Partial<Record<keyof MemorySample, number>>;
  usageTs?: number;
  maxTs?: number;
};

/** The scan: `bytes` is one scrape; options.select limits it to those containers. */
export function scanCadvisorMetrics(bytes: Uint8Array, options: CadvisorOptions): CadvisorScrape {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = buf.length;
  const select = options.select;
  /** Every cgroup of a kept container, in the order met; and by container (the selection's own key objects, or one per text). */
  const entries: CgroupEntry[] = [];
  const cgroupsOf = new Map<ContainerKey, CgroupEntry[]>();
  /** The containers met so far (each one key object a scrape). */
  const met = new ContainerSelection([]);
  const lineOf = (pos: number): number => {
    let line = 1;
    for (let i = buf.indexOf(NL, 0); i >= 0 && i < pos; i = buf.indexOf(NL, i + 1)) line++;
    return line;
  };
  const fail = (pos: number, lineStart: number, lineEnd: number, what: string): never => {
    const text = buf.toString('utf8', lineStart, Math.min(lineEnd, lineStart + 120)).trim();
    throw new InputError(options.source, `expected a Prometheus text-format sample (name{labels} value [timestamp]): ${what} in ${JSON.stringify(text)}`, { line: lineOf(pos) });
  };

  // The family of the previous sample line, so consecutive lines of one family compare bytes, not strings.
  let famStart = 0;
  let famLen = 0;
  let famRule: FamilyRule | null = null;
  const container: ValueRange = { s: 0, e: 0, escaped: false };
  const containerName: ValueRange = { s: 0, e: 0, escaped: false };
  const pod: ValueRange = { s: 0, e: 0, escaped: false };
  const podName: ValueRange = { s: 0, e: 0, escaped: false };
  const namespace: ValueRange = { s: 0, e: 0, escaped: false };
  const id: ValueRange = { s: 0, e: 0, escaped: false };
  const failureType: ValueRange = { s: 0, e: 0, escaped: false };
  const scope: ValueRange = { s: 0, e: 0, escaped: false };

  /** The next backslash in the body (n: none): label values before it need no unescaping. */
  let nextBackslash = -1;

  // Every family of a kubelet lists the same cgroups with the same labels in the same order, so
  // the k-th line of a family most often carries the label block of the k-th line of the family
  // before: where the bytes are the same, so is whose series it is (a cgroup entry, or null: none
  // kept). Each line of a family is one entry here (its block's place and length, -1 if none);
  // a line whose block equals the one at its place in the family before is read from its value on,
  // any other as below. The order only saves time: a line is never taken for another.
  // (Not the failure counts: their blocks add failure_type and scope.)
  let prevStarts: number[] = [];
  let prevLens: number[] = [];
  let prevKept: (CgroupEntry | null)[] = [];
  let curStarts: number[] = [];
  let curLens: number[] = [];
  let curKept: (CgroupEntry | null)[] = [];
  /** This family's line: its label block from `{` to `}` (end -1: not read that far), and whose it is. */
  const kept = (blockStart: number, blockEnd: number, eol: number, entry: CgroupEntry | null) => {
    if (famRule === null || famRule.kind === 'failures') return;
    const end = blockStart < 0 ? -1 : blockEnd >= 0 ? blockEnd : buf.lastIndexOf(125, eol - 1);
    curStarts.push(blockStart);
    curLens.push(end > blockStart ? end - blockStart : -1);
    curKept.push(entry);
  };

  let pos = 0;
  lines: while (pos < n) {
    const line = curLens.length;
    if (line < prevLens.length && famRule !== null && famRule.kind !== 'failures' && prevLens[line]! > 0) {
      const b = pos + famLen;
      const len = prevLens[line]!;
      const ps = prevStarts[line]!;
      if (buf[b] === 123 && buf[b + len] === 125 && sameBytes(buf, famStart, pos, famLen) && buf.compare(buf, ps, ps + len, b, b + len) === 0) {
        // The value and the timestamp up to the end of the line; anything unusual is read below.
        const t = valueTokens(buf, b + len + 1, n);
        if (t.valueStart < t.valueEnd && (t.end === n || buf[t.end] === NL)) {
          const value = parseNumber(buf, t.valueStart, t.valueEnd);
          const ts = t.tsStart < t.tsEnd ? parseInteger(buf, t.tsStart, t.tsEnd) : undefined;
          if (value !== undefined && (t.tsStart === t.tsEnd || ts !== undefined)) {
            const entry = prevKept[line]!;
            if (entry) {
              if (ts !== undefined) entry.maxTs = Math.max(entry.maxTs ?? -Infinity, ts);
              if (famRule.kind === 'field') record(entry, famRule.field, value, ts);
            }
            curStarts.push(b);
            curLens.push(len);
            curKept.push(entry);
            pos = t.end + 1;
            continue;
          }
        }
      }
    }
    let eol = buf.indexOf(NL, pos);
    if (eol < 0) eol = n;
    let i = pos;
    while (i < eol && isBlank(buf[i]!)) i++;
    if (i === eol) {
      pos = eol + 1;
      continue;
    }
    if (buf[i] === HASH) {
      pos = skipFamily(buf, i, eol, n) ?? eol + 1;
      continue;
    }
    const lineStart = i;
    // The metric name.
    if (!isNameStart(buf[i]!)) fail(i, lineStart, eol, 'bad metric name');
    const nameStart = i;
    while (i < eol && isNameChar(buf[i]!)) i++;
    const nameLen = i - nameStart;
    if (nameLen !== famLen || !sameBytes(buf, famStart, nameStart, nameLen)) {
      if (curLens.length > 0) {
        [prevStarts, prevLens, prevKept] = [curStarts, curLens, curKept];
        [curStarts, curLens, curKept] = [[], [], []];
      }
      famStart = nameStart;
      famLen = nameLen;
      famRule = FAMILY_RULES.get(buf.toString('latin1', nameStart, i)) ?? null;
    }
    const rule = famRule;
    if (rule === null) {
      pos = eol + 1;
      continue;
    }
    // The labels that matter; presence is a range with s >= 0.
    container.s = containerName.s = pod.s = podName.s = namespace.s = id.s = failureType.s = scope.s = -1;
    const blockStart = buf[i] === 123 /* { */ ? i : -1;
    let blockEnd = -1;
    if (blockStart >= 0) {
      i++;
      for (;;) {
        while (i < eol && (buf[i] === 32 || buf[i] === 9 || buf[i] === 44)) i++;
        if (buf[i] === 125 /* } */) {
          blockEnd = i;
          i++;
          break;
        }
        if (i >= eol || !isLabelStart(buf[i]!)) fail(i, lineStart, eol, 'bad label name');
        const ls = i;
        while (i < eol && isLabelChar(buf[i]!)) i++;
        const le = i;
        while (buf[i] === 32) i++;
        if (buf[i] !== 61 /* = */) fail(i, lineStart, eol, `no "=" after label ${buf.toString('latin1', ls, le)}`);
        i++;
        while (buf[i] === 32) i++;
        if (buf[i] !== QUOTE) fail(i, lineStart, eol, `label ${buf.toString('latin1', ls, le)} value is not quoted`);
        i++;
        const vs = i;
        // The closing quote by memchr; a backslash before it means escapes, read byte by byte.
        let escaped = false;
        i = buf.indexOf(QUOTE, vs);
        if (i < 0 || i > eol) i = eol;
        if (nextBackslash < vs) {
          nextBackslash = buf.indexOf(BACKSLASH, vs);
          if (nextBackslash < 0) nextBackslash = n;
        }
        if (nextBackslash < i) {
          escaped = true;
          i = nextBackslash;
          while (i < eol && buf[i] !== QUOTE) i += buf[i] === BACKSLASH ? 2 : 1;
        }
        if (i >= eol) fail(i, lineStart, eol, `unterminated value of label ${buf.toString('latin1', ls, le)}`);
        const target = labelSlot(buf, ls, le, container, containerName, pod, podName, namespace, id, failureType, scope);
        if (target) {
          // container="" (the pod's cgroup) or "POD" (the sandbox): not a container, whatever
          // follows. Labels come sorted (client_golang), so `container` is first and two thirds
          // of a kubelet's memory lines end here.
          if (target === container && !escaped && (i === vs || rangeIs(buf, vs, i, V_POD))) {
            kept(blockStart, -1, eol, null);
            pos = eol + 1;
            continue lines;
          }
          // A failure count other than major faults: nothing memaudit reads.
          if (target === failureType && (escaped || !rangeIs(buf, vs, i, V_PGMAJFAULT))) {
            pos = eol + 1;
            continue lines;
          }
          target.s = vs;
          target.e = i;
          target.escaped = escaped;
        }
        i++;
      }
    }
    // The value and an optional timestamp.
    const { valueStart, valueEnd, tsStart, tsEnd, end: rest } = valueTokens(buf, i, eol);
    if (valueStart === valueEnd || rest < eol) fail(rest, lineStart, eol, 'expected a value and an optional timestamp');

    if (id.s === id.e) id.s = -1; // id="" is no id, as for the text parser
    // Whose series: the identity rules of containerKeyFromLabels, on bytes.
    const c = container.s >= 0 ? container : containerName;
    const p = pod.s >= 0 ? pod : podName;
    if (c.s < 0 || p.s < 0 || namespace.s < 0 || c.e === c.s || p.e === p.s || namespace.e === namespace.s || (!c.escaped && rangeIs(buf, c.s, c.e, V_POD))) {
      kept(blockStart, blockEnd, eol, null);
      pos = eol + 1;
      continue;
    }
    let key: ContainerKey;
    if (c.escaped || p.escaped || namespace.escaped) {
      const k = { namespace: labelValue(buf, namespace), pod: labelValue(buf, p), container: labelValue(buf, c) };
      if (k.container === 'POD' || (select && !select.has(k))) {
        kept(blockStart, blockEnd, eol, null);
        pos = eol + 1;
        continue;
      }
      key = met.add(k);
    } else if (select) {
      const found = select.find(buf, namespace.s, namespace.e, buf, p.s, p.e, buf, c.s, c.e);
      if (!found) {
        kept(blockStart, blockEnd, eol, null);
        pos = eol + 1;
        continue;
      }
      key = found.key;
    } else {
      // Every container: found again by the bytes of its labels, its strings made at its first line.
      key = met.find(buf, namespace.s, namespace.e, buf, p.s, p.e, buf, c.s, c.e)?.key ?? met.add({ namespace: buf.toString('utf8', namespace.s, namespace.e), pod: buf.toString('utf8', p.s, p.e), container: buf.toString('utf8', c.s, c.e) });
    }

    const value = parseNumber(buf, valueStart, valueEnd);
    if (value === undefined) fail(valueStart, lineStart, eol, `bad value ${JSON.stringify(buf.toString('utf8', valueStart, valueEnd))}`);
    let ts: number | undefined;
    if (tsStart < tsEnd) {
      ts = parseInteger(buf, tsStart, tsEnd);
      if (ts === undefined) fail(tsStart, lineStart, eol, `bad timestamp ${JSON.stringify(buf.toString('utf8', tsStart, tsEnd))}`);
    }

    let list = cgroupsOf.get(key);
    if (!list) cgroupsOf.set(key, (list = []));
    let entry = findCgroup(buf, list, id);
    if (!entry) {
      const cgroupId = id.s >= 0 ? labelValue(buf, id) : '';
      entry = { key, cgroupId: cgroupId || undefined, idStart: id.escaped ? -1 : id.s, idEnd: id.escaped ? -1 : id.e, fields: {} };
      list.push(entry);
      entries.push(entry);
    }
    if (ts !== undefined) entry.maxTs = Math.max(entry.maxTs ?? -Infinity, ts);
    kept(blockStart, blockEnd, eol, entry);
    let f: CadvisorField | null;
    if (rule.kind === 'field') f = rule.field;
    else if (rule.kind === 'swap') f = null;
    else f = rangeIs(buf, failureType.s, failureType.e, V_PGMAJFAULT) && (scope.s < 0 || rangeIs(buf, scope.s, scope.e, V_CONTAINER)) ? { field: 'majorFaultCount', kind: 'count' } : null;
    if (f) record(entry, f, value!, ts);
    pos = eol + 1;
  }
  return bestSamples(entries, options.scrapeTimeMs);
}

/**
 * After a line's labels, from `from`: where its value and its timestamp start and end (empty when
 * absent), and where the blanks after them end, at `end` or at a newline. Reused: read it before
 * the next call.
 */
function valueTokens(buf: Uint8Array, from: number, end: number): typeof TOKENS {
  const t = TOKENS;
  let j = from;
  while (j < end && isBlank(buf[j]!)) j++;
  t.valueStart = j;
  while (j < end && buf[j] !== NL && !isBlank(buf[j]!)) j++;
  t.valueEnd = j;
  while (j < end && isBlank(buf[j]!)) j++;
  t.tsStart = j;
  while (j < end && buf[j] !== NL && !isBlank(buf[j]!)) j++;
  t.tsEnd = j;
  while (j < end && isBlank(buf[j]!)) j++;
  t.end = j;
  return t;
}
const TOKENS = { valueStart: 0, valueEnd: 0, tsStart: 0, tsEnd: 0, end: 0 };

/** The container's cgroup with this id (the label absent: the one without an id). */
function findCgroup(buf: Buffer, list: readonly CgroupEntry[], id: ValueRange): CgroupEntry | undefined {
  for (const e of list) {
    if (id.s < 0) {
      if (e.cgroupId === undefined) return e;
    } else if (!id.escaped && e.idStart >= 0) {
      if (e.idEnd - e.idStart === id.e - id.s && sameBytes(buf, e.idStart, id.s, id.e - id.s)) return e;
    } else if (e.cgroupId === labelValue(buf, id)) return e;
  }
  return undefined;
}

/** The slot a label name fills, or null for one the scanner does not read. */
function labelSlot(buf: Uint8Array, s: number, e: number, container: ValueRange, containerName: ValueRange, pod: ValueRange, podName: ValueRange, namespace: ValueRange, id: ValueRange, failureType: ValueRange, scope: ValueRange): ValueRange | null {
  switch (e - s) {
    case 2:
      return rangeIs(buf, s, e, L_ID) ? id : null;
    case 3:
      return rangeIs(buf, s, e, L_POD) ? pod : null;
    case 5:
      return rangeIs(buf, s, e, L_SCOPE) ? scope : null;
    case 8:
      return rangeIs(buf, s, e, L_POD_NAME) ? podName : null;
    case 9:
      return rangeIs(buf, s, e, L_CONTAINER) ? container : rangeIs(buf, s, e, L_NAMESPACE) ? namespace : null;
    case 12:
      return rangeIs(buf, s, e, L_FAILURE_TYPE) ? failureType : null;
    case 14:
      return rangeIs(buf, s, e, L_CONTAINER_NAME) ? containerName : null;
    default:
      return null;
  }
}

/** A label value as a string of its own; escapes (\\, \", \n) decoded. */
function labelValue(buf: Buffer, r: ValueRange): string {
  if (!r.escaped) return buf.toString('utf8', r.s, r.e);
  let out = '';
  let from = r.s;
  for (let i = r.s; i < r.e; i++) {
    if (buf[i] !== BACKSLASH) continue;
    out += buf.toString('utf8', from, i);
    const c = buf[i + 1];
    out += c === 110 ? '\n' : c === BACKSLASH || c === QUOTE ? String.fromCharCode(c) : `\\${String.fromCharCode(c!)}`;
    i++;
    from = i + 1;
  }
  return out + buf.toString('utf8', from, r.e);
}

/**
 * At a comment line: when it is the HELP or TYPE line of a family the scanner does not read, the
 * position of the next comment line (the family's lines are all before it), else null (go on
 * line by line).
 */
function skipFamily(buf: Buffer, i: number, eol: number, n: number): number | null {
  const isHelp = rangeIs(buf, i, Math.min(i + 7, eol), HELP);
  if (!isHelp && !rangeIs(buf, i, Math.min(i + 7, eol), TYPE)) return null;
  let j = i + 7;
  const ns = j;
  while (j < eol && isNameChar(buf[j]!)) j++;
  if (j === ns || FAMILY_RULES.has(buf.toString('latin1', ns, j))) return null;
  const nameLen = j - ns;
  const next = buf.indexOf('\n#', eol);
  const end = next < 0 ? n : next + 1;
  // The last line before `end`: either a comment of this family or one of its samples.
  let last = buf.lastIndexOf(NL, end - 2);
  last = last < eol ? i : last + 1;
  if (last === i) return end;
  if (buf[last] === HASH) return null;
  if (!(buf.compare(buf, ns, j, last, last + nameLen) === 0 && !isNameChar(buf[last + nameLen] ?? 32))) return null;
  return end;
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * A sample value: the format's float (`[+-]digits[.digits][e[+-]digits]`, NaN, +Inf, -Inf).
 * Exact like Number(): up to 15 significant digits and a power of ten within 10^22 is one
 * correctly rounded operation on two exact doubles; anything else goes to Number().
 */
function parseNumber(buf: Buffer, s: number, e: number): number | undefined {
  let i = s;
  let c = buf[i]!;
  if (c === 78 /* N */ || c === 73 /* I */ || ((c === 43 || c === 45) && buf[i + 1] === 73)) {
    const t = buf.toString('latin1', s, e);
    return t === 'NaN' ? NaN : t === '+Inf' || t === 'Inf' ? Infinity : t === '-Inf' ? -Infinity : undefined;
  }
  let negative = false;
  if (c === 43 || c === 45) {
    negative = c === 45;
    i++;
  }
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  let intDigits = 0;
  let fracDigits = 0;
  while (i < e && (c = buf[i]!) >= 48 && c <= 57) {
    if (mantissa !== 0 || c !== 48) digits++;
    mantissa = mantissa * 10 + (c - 48);
    intDigits++;
    i++;
  }
  if (i < e && buf[i] === 46 /* . */) {
    i++;
    while (i < e && (c = buf[i]!) >= 48 && c <= 57) {
      if (mantissa !== 0 || c !== 48) digits++;
      mantissa = mantissa * 10 + (c - 48);
      scale--;
      fracDigits++;
      i++;
    }
  }
  if (intDigits + fracDigits === 0) return undefined;
  if (i < e && (buf[i] === 101 || buf[i] === 69)) {
    i++;
    let expNeg = false;
    if (buf[i] === 43 || buf[i] === 45) {
      expNeg = buf[i] === 45;
      i++;
    }
    let exp = 0;
    const es = i;
    while (i < e && (c = buf[i]!) >= 48 && c <= 57) {
      exp = exp * 10 + (c - 48);
      i++;
    }
    if (i === es) return undefined;
    scale += expNeg ? -exp : exp;
  }
  if (i !== e) return undefined;
  let v: number;
  if (digits <= 15 && scale >= -22 && scale <= 22) v = scale >= 0 ? mantissa * POW10[scale]! : mantissa / POW10[-scale]!;
  else v = Number(buf.toString('latin1', negative || buf[s] === 43 ? s + 1 : s, e));
  return negative ? -v : v;
}

/** A timestamp: an optionally negative integer of milliseconds. */
function parseInteger(buf: Buffer, s: number, e: number): number | undefined {
  let i = s;
  const negative = buf[i] === 45;
  if (negative) i++;
  if (i === e) return undefined;
  let v = 0;
  for (; i < e; i++) {
    const c = buf[i]!;
    if (c < 48 || c > 57) return undefined;
    v = v * 10 + (c - 48);
  }
  return negative ? -v : v;
}

function record(entry: CgroupEntry, f: CadvisorField, value: number, ts: number | undefined): void {
  const field = f.field;
  if (f.kind === 'seconds') {
    if (Number.isFinite(value) && value >= 0) entry.fields[field] = Math.round(value * 1e6);
    return;
  }
  if (field === 'limitBytes') {
    const limit = limitBytesFromSpec(value);
    if (limit !== undefined) entry.fields.limitBytes = limit;
    return;
  }
  if (!Number.isFinite(value)) return; // NaN: cAdvisor could not read it; unknown, not 0
  entry.fields[field] = value;
  if (field === 'usageBytes' && ts !== undefined) entry.usageTs = ts;
}

/** What a scrape says of one cgroup of a container: the part bestSamples chooses by. */
export type CgroupReading = Pick<CgroupEntry, 'key' | 'cgroupId' | 'fields' | 'usageTs' | 'maxTs'>;

/**
 * Per container, the cgroup with usage and the newest usage timestamp (see parseCadvisorMetrics):
 * a container's cgroups across a restart, or a pod cgroup without usage, give one sample.
 */
export function bestSamples(entries: readonly CgroupReading[], scrapeTimeMs: number): CadvisorScrape {
  const best = new Map<string, { key: ContainerKey; cgroupId: string | undefined; fields: Partial<Record<keyof MemorySample, number>>; ts: number; hasUsage: boolean }>();
  for (const e of entries) {
    const k = containerKeyString(e.key);
    const ts = e.usageTs ?? e.maxTs ?? scrapeTimeMs;
    const hasUsage = e.fields.usageBytes !== undefined && e.fields.usageBytes > 0;
    const prev = best.get(k);
    if (!prev || (hasUsage && !prev.hasUsage) || (hasUsage === prev.hasUsage && ts > prev.ts)) best.set(k, { key: e.key, cgroupId: e.cgroupId, fields: e.fields, ts, hasUsage });
  }

  const containers: ContainerSample[] = [];
  const withoutUsage: ContainerKey[] = [];
  for (const e of best.values()) {
    if (!e.hasUsage) {
      withoutUsage.push(e.key);
      continue;
    }
    const sample = { timestampMs: e.ts, ...e.fields } as MemorySample;
    // The cgroup path names the container's incarnation: a restarted container gets a new one.
    // Copied out: the parsed label is a slice of the whole scrape text, and a sample kept for hours
    // would keep its round's scrape (megabytes) alive with it.
    if (e.cgroupId !== undefined) sample.instance = copiedString(e.cgroupId);
    containers.push({ key: e.key, sample });
  }
  containers.sort((a, b) => containerKeyString(a.key).localeCompare(containerKeyString(b.key)));
  return { containers, withoutUsage };
}

/** A flat copy of a string: V8 keeps a slice of a long string as a view that pins the whole. */
function copiedString(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

/** The sample of one container, or NoData when the scrape has none for it. */
export function findContainerSample(samples: readonly ContainerSample[], key: ContainerKey): MemorySample | NoData {
  const found = samples.find((c) => c.key.namespace === key.namespace && c.key.pod === key.pod && c.key.container === key.container);
  return found ? found.sample : noData(`no memory metrics for container ${containerKeyString(key)} in this scrape (not running on this node, or not started yet)`);
}

/** Reads a saved scrape (e.g. `kubectl get --raw /api/v1/nodes/N/proxy/metrics/cadvisor > file`). */
