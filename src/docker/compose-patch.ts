// Writes memory limits into one service of a Compose file, and nothing else. Pure: text in, text out.
//
// Formatting and comments are kept byte for byte: the file is parsed with the `yaml` Document API
// only to find where things are, and the change is a few splices of the original text (a value
// replaced in its own quoting style, a key inserted at the indentation of its siblings). After the
// splices the result is parsed again and checked: the service has exactly the new values, and
// nothing else in the file means anything different (every other service, every `x-` field).
//
// Which keys. The file's own form is updated, whichever it uses:
//   - `mem_limit` / `mem_reservation` (Compose's service-level keys), and/or
//   - `deploy.resources.limits.memory` / `deploy.resources.reservations.memory` (the Swarm-era form
//     that `docker compose` also applies);
// both when both are there; `mem_limit` (and `mem_reservation`) when neither is. A
// `memswap_limit` below the new limit would make the container fail to start: it is raised to the
// limit (no swap on top). `environment: GOMEMLIMIT` (map or `- KEY=value` list form) when asked.
//
// Anchors. A value the service inherits through `<<: *defaults` or an alias (`deploy: *deploy`) is
// shared with other services: it is never edited in place. The service gets its own key, which
// overrides the merged one, or its own copy of the aliased map. A value that other services
// inherit from this one (`<<: *web` elsewhere) is refused, with the names of those services.
import { isAlias, isMap, isScalar, isSeq, parseDocument, stringify } from 'yaml';
import type { Document, Node, Pair, ParsedNode, Scalar, YAMLMap, YAMLSeq } from 'yaml';
import { InputError } from '../errors.ts';
import { bytesFromDockerSize, MiB } from '../model/units.ts';
import { goMemLimitValue } from '../recommend/format.ts';

export interface ComposeLimits {
  memLimitBytes: number;
  /** null: leave the reservation alone. */
  memReservationBytes: number | null;
  /** null: leave GOMEMLIMIT alone. */
  goMemLimitBytes: number | null;
}

export interface ComposeChange {
  /** Dotted key within the service: "mem_limit", "deploy.resources.limits.memory", "environment.GOMEMLIMIT". */
  key: string;
  /** The value the service had (inherited values too), as written; null when unset. */
  from: string | null;
  to: string;
  /** Why the change is where it is, when that is not obvious (an override of an inherited value). */
  note?: string;
}

export interface ComposePatch {
  text: string;
  changes: ComposeChange[];
}

type Leaf = { kind: 'size'; bytes: number } | { kind: 'env'; value: string };
interface Target {
  path: string[];
  leaf: Leaf;
}

const MEM_LIMIT = ['mem_limit'];
const MEM_RESERVATION = ['mem_reservation'];
const DEPLOY_LIMIT = ['deploy', 'resources', 'limits', 'memory'];
const DEPLOY_RESERVATION = ['deploy', 'resources', 'reservations', 'memory'];
const MEMSWAP = ['memswap_limit'];
const GOMEMLIMIT = 'GOMEMLIMIT';

export function patchComposeLimits(text: string, service: string, limits: ComposeLimits, source = 'compose file'): ComposePatch {
  const original = parse(text, source);
  const serviceNode = serviceMap(original, service, source);
  const has = (p: string[]) => effectiveValue(original, serviceNode, p) !== undefined;

  const targets: Target[] = [];
  const limit: Leaf = { kind: 'size', bytes: limits.memLimitBytes };
  const limitPaths = [has(MEM_LIMIT) ? MEM_LIMIT : null, has(DEPLOY_LIMIT) ? DEPLOY_LIMIT : null].filter((p) => p !== null);
  if (limitPaths.length === 0) limitPaths.push(MEM_LIMIT);
  for (const p of limitPaths) targets.push({ path: p, leaf: limit });
  if (limits.memReservationBytes !== null) {
    const reservation: Leaf = { kind: 'size', bytes: Math.min(limits.memReservationBytes, limits.memLimitBytes) };
    const paths = [has(MEM_RESERVATION) ? MEM_RESERVATION : null, has(DEPLOY_RESERVATION) ? DEPLOY_RESERVATION : null].filter((p) => p !== null);
    if (paths.length === 0) paths.push(limitPaths.includes(MEM_LIMIT) ? MEM_RESERVATION : DEPLOY_RESERVATION);
    for (const p of paths) targets.push({ path: p, leaf: reservation });
  }
  const swap = effectiveValue(original, serviceNode, MEMSWAP);
  const swapBytes = swap === undefined ? undefined : sizeBytes(jsOf(original, swap));
  if (swapBytes !== undefined && swapBytes !== null && swapBytes >= 0 && swapBytes < limits.memLimitBytes) targets.push({ path: MEMSWAP, leaf: limit });
  if (limits.goMemLimitBytes !== null) targets.push({ path: ['environment', GOMEMLIMIT], leaf: { kind: 'env', value: goMemLimitValue(limits.goMemLimitBytes) } });

  let current = text;
  const done: { target: Target; from: string | null; note: string | undefined }[] = [];
  for (const target of targets) {
    const from = describeEffective(original, serviceNode, target);
    let note: string | undefined;
    // One structural step at a time (materialise an inherited map, insert a key, replace a value),
    // each on a fresh parse of the text so far; a path is at most a few steps.
    for (let steps = 0; ; steps++) {
      if (steps > 12) throw new Error(`compose patch did not converge on ${target.path.join('.')}`);
      const doc = parse(current, source);
      const step = nextEdit(doc, current, ['services', service, ...target.path], target.leaf, source);
      if (step === null) break;
      current = current.slice(0, step.start) + step.insert + current.slice(step.end);
      note ??= step.note;
    }
    done.push({ target, from, note });
  }
  if (current === text) return { text, changes: [] };
  verify(text, current, service, targets, source);
  const patched = parse(current, source);
  const patchedService = serviceMap(patched, service, source);
  const changes: ComposeChange[] = [];
  for (const { target, from, note } of done) {
    const to = describeEffective(patched, patchedService, target);
    if (to !== null && to !== from) changes.push({ key: target.path.join('.'), from, to, ...(note ? { note } : {}) });
  }
  return { text: current, changes };
}

// ---------------------------------------------------------------------------------------------
// Reading

function parse(text: string, source: string): Document.Parsed {
  const doc = parseDocument(text, { merge: true, prettyErrors: false });
  if (doc.errors.length > 0) throw new InputError(source, `not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  return doc;
}

function serviceMap(doc: Document.Parsed, service: string, source: string): YAMLMap {
  if (!isMap(doc.contents)) throw new InputError(source, 'not a Compose file: the top level is not a map');
  const services = resolve(doc, doc.contents.get('services', true));
  if (!isMap(services)) throw new InputError(source, 'not a Compose file: no "services:" map');
  const node = resolve(doc, services.get(service, true));
  if (!isMap(node)) throw new InputError(source, `service ${JSON.stringify(service)} is not in the file, or not a map`);
  return node;
}

const isMergeKey = (key: unknown): boolean => isScalar(key) && (typeof key.value === 'symbol' || key.value === '<<' || key.source === '<<');
const keyName = (pair: Pair): string => (isScalar(pair.key) ? String(pair.key.value) : String(pair.key));

function resolve(doc: Document.Parsed, node: unknown): unknown {
  let n = node;
  for (let i = 0; isAlias(n) && i < 100; i++) n = n.resolve(doc);
  return n;
}

function directPair(map: YAMLMap, key: string): Pair<ParsedNode, ParsedNode | null> | undefined {
  return (map.items as Pair<ParsedNode, ParsedNode | null>[]).find((p) => !isMergeKey(p.key) && keyName(p) === key);
}

/** The maps a map merges (`<<: *a` or `<<: [*a, *b]`), earlier ones first (they win). */
function mergedMaps(doc: Document.Parsed, map: YAMLMap): YAMLMap[] {
  const out: YAMLMap[] = [];
  for (const p of map.items) {
    if (!isMergeKey(p.key)) continue;
    const v = resolve(doc, p.value);
    const sources = isSeq(v) ? v.items.map((i) => resolve(doc, i)) : [v];
    for (const s of sources) if (isMap(s)) out.push(s);
  }
  return out;
}

/** The value of `key` in `map`, direct or through merges (resolved), or undefined. */
function lookup(doc: Document.Parsed, map: YAMLMap, key: string, depth = 0): unknown {
  const direct = directPair(map, key);
  if (direct) return resolve(doc, direct.value);
  if (depth > 20) return undefined;
  for (const m of mergedMaps(doc, map)) {
    const v = lookup(doc, m, key, depth + 1);
    if (v !== undefined) return v;
  }
  return undefined;
}

function effectiveValue(doc: Document.Parsed, map: YAMLMap, path: string[]): unknown {
  let node: unknown = map;
  for (const key of path) {
    if (!isMap(node)) return undefined;
    node = lookup(doc, node, key);
    if (node === undefined) return undefined;
  }
  return isScalar(node) && node.value === null ? undefined : node;
}

const jsOf = (doc: Document.Parsed, node: unknown): unknown => (isScalar(node) ? node.value : (node as Node | null)?.toJS?.(doc, { maxAliasCount: -1 }));

/** Bytes of a Compose size (67108864, "64m", "1g", "-1"); null for "-1"/unlimited, undefined when not a size. */
function sizeBytes(v: unknown): number | null | undefined {
  if (typeof v === 'number') return v < 0 ? null : v;
  if (typeof v !== 'string') return undefined;
  if (v.trim() === '-1') return null;
  return bytesFromDockerSize(v) ?? undefined;
}

function describeEffective(doc: Document.Parsed, service: YAMLMap, target: Target): string | null {
  if (target.leaf.kind === 'env') {
    const env = effectiveValue(doc, service, ['environment']);
    const js = env === undefined ? undefined : jsOf(doc, env);
    const value = envObject(js)[GOMEMLIMIT];
    return value === undefined || value === null ? null : String(value);
  }
  const v = effectiveValue(doc, service, target.path);
  return v === undefined ? null : String(jsOf(doc, v));
}

// ---------------------------------------------------------------------------------------------
// Writing: the next splice toward `path` = leaf, or null when the file already says so.

interface Edit {
  start: number;
  end: number;
  insert: string;
  note?: string;
}

function nextEdit(doc: Document.Parsed, text: string, path: string[], leaf: Leaf, source: string): Edit | null {
  let map = doc.contents as YAMLMap;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    const rest = path.slice(i + 1);
    const isLeaf = rest.length === 0;
    const where = path.slice(0, i + 1).join('.');
    const pair = directPair(map, key);
    if (!pair) {
      const inherited = i >= 2 ? lookup(doc, map, key) : undefined;
      if (inherited !== undefined) {
        // Inherited through `<<:`: the service gets its own key, which overrides the merged one.
        const value = isLeaf ? leafValue(leaf, jsOf(doc, inherited)) : copyFor(doc, inherited, rest, where, source);
        return { ...insertPair(text, map, key, value), note: `${where.split('.').slice(2).join('.')} was inherited through a YAML merge key (<<:); set on the service itself so the shared value stays as it is` };
      }
      return insertPair(text, map, key, isLeaf ? leafValue(leaf, undefined) : nestedValue(rest, leaf));
    }
    const value = pair.value;
    if (isAlias(value)) {
      const resolved = resolve(doc, value);
      if (isLeaf) return replaceValue(text, map, pair, leafValue(leaf, jsOf(doc, resolved)));
      // A shared map (`deploy: *deploy`): the service gets its own copy in its place.
      return { ...replaceValue(text, map, pair, copyFor(doc, resolved, rest, where, source)), note: `${where.split('.').slice(2).join('.')} was the shared alias *${value.source}; the service now has its own copy, the others keep the alias` };
    }
    if (isLeaf) {
      if (isMap(value) || isSeq(value)) throw new InputError(source, `${where}: expected a size, found a ${isMap(value) ? 'map' : 'list'}`);
      const scalar = value as Scalar | null;
      const desired = leafValue(leaf, scalar?.value);
      if (scalar && scalar.value !== null && sameValue(scalar.value, desired)) return null;
      return replaceValue(text, map, pair, desired);
    }
    if (isSeq(value) && key === 'environment' && leaf.kind === 'env') return envSeqEdit(text, value, rest[0]!, leaf.value);
    if (isMap(value)) {
      map = value;
      continue;
    }
    if (value === null || (isScalar(value) && value.value === null)) return replaceValue(text, map, pair, nestedValue(rest, leaf));
    throw new InputError(source, `${where}: expected a map, found ${JSON.stringify(jsOf(doc, value))}`);
  }
  return null;
}

/** A plain JS copy of an inherited map, for the service to own; the walk then goes on into it. */
function copyFor(doc: Document.Parsed, node: unknown, rest: string[], where: string, source: string): unknown {
  if (where.endsWith('.environment') && isSeq(node)) return jsOf(doc, node);
  if (!isMap(node)) throw new InputError(source, `${where}: expected a map to set ${rest.join('.')} in`);
  return jsOf(doc, node);
}

function nestedValue(rest: string[], leaf: Leaf): unknown {
  let v: unknown = leafValue(leaf, undefined);
  for (let i = rest.length - 1; i >= 0; i--) v = { [rest[i]!]: v };
  return v;
}

/**
 * The value to write, in the form of the one it replaces: a byte count stays a byte count, "64M"
 * keeps its upper-case unit, "512Mi" its "Mi"; new values are Compose's usual "48m".
 */
function leafValue(leaf: Leaf, previous: unknown): string | number {
  if (leaf.kind === 'env') return leaf.value;
  const mib = Math.max(1, Math.ceil(leaf.bytes / MiB));
  if (typeof previous === 'number') return mib * MiB;
  if (typeof previous === 'string') {
    const unit = /^\s*\d+(?:\.\d+)?\s*([a-zA-Z]*)\s*$/.exec(previous)?.[1];
    if (unit === '') return String(mib * MiB);
    if (unit !== undefined && /^[kmgtKMGT]/.test(unit)) return `${mib}${/[A-Z]/.test(unit[0]!) ? 'M' : 'm'}${unit.slice(1)}`;
  }
  return `${mib}m`;
}

function sameValue(current: unknown, desired: string | number): boolean {
  if (typeof desired === 'string' && !/^\d/.test(desired)) return current === desired;
  return String(current) === String(desired);
}

/** Replaces a pair's value, keeping a scalar's quoting style and whatever follows it on the line. */
function replaceValue(text: string, map: YAMLMap, pair: Pair<ParsedNode, ParsedNode | null>, value: unknown): Edit {
  const old = pair.value;
  const colon = colonAfter(text, pair.key.range[1]);
  if (isScalar(value) || typeof value !== 'object' || value === null) {
    const style = isScalar(old) ? old.type : undefined;
    const rendered = scalarText(value, style);
    if (old && old.range[1] > old.range[0]) return { start: old.range[0], end: old.range[1], insert: rendered };
    return { start: colon + 1, end: old ? Math.max(colon + 1, old.range[1]) : colon + 1, insert: ` ${rendered}` };
  }
  const end = old ? old.range[1] : colon + 1;
  if (map.flow) return { start: colon + 1, end, insert: ` ${flowText(value)}` };
  const indent = columnOf(text, pair.key.range[0]) + indentUnit(text, map);
  return { start: colon + 1, end, insert: '\n' + blockLines(value, indent, indentUnit(text, map)).join('\n') };
}

/** Inserts `key: value` as the map's last entry, at its siblings' indentation (or into `{...}`). */
function insertPair(text: string, map: YAMLMap, key: string, value: unknown): Edit {
  if (map.flow) {
    const close = text.lastIndexOf('}', (map.range ?? [0, text.length])[1]);
    const empty = map.items.length === 0;
    return { start: close, end: close, insert: `${empty ? '' : ', '}${key}: ${typeof value === 'object' && value !== null ? flowText(value) : scalarText(value, undefined)}` };
  }
  const first = map.items[0] as Pair<ParsedNode> | undefined;
  if (!first) throw new Error('cannot insert into an empty block map');
  const indent = columnOf(text, first.key.range[0]);
  const unit = indentUnit(text, map);
  const lines = typeof value === 'object' && value !== null ? [`${' '.repeat(indent)}${key}:`, ...blockLines(value, indent + unit, unit)] : [`${' '.repeat(indent)}${key}: ${scalarText(value, undefined)}`];
  const at = afterLastItem(text, map.items[map.items.length - 1] as Pair<ParsedNode, ParsedNode | null>);
  return { start: at.pos, end: at.pos, insert: `${at.newlineFirst ? '\n' : ''}${lines.join('\n')}\n` };
}

/** GOMEMLIMIT in `environment: [- KEY=value]`: replace the item, or append one. */
function envSeqEdit(text: string, seq: YAMLSeq, name: string, value: string): Edit | null {
  const item = `${name}=${value}`;
  for (const node of seq.items as ParsedNode[]) {
    if (!isScalar(node) || typeof node.value !== 'string') continue;
    if (node.value === name || node.value.startsWith(`${name}=`)) {
      if (node.value === item) return null;
      return { start: node.range[0], end: node.range[1], insert: scalarText(item, node.type) };
    }
  }
  if (seq.flow) {
    const close = text.lastIndexOf(']', (seq.range ?? [0, text.length])[1]);
    return { start: close, end: close, insert: `${seq.items.length ? ', ' : ''}${item}` };
  }
  const last = seq.items[seq.items.length - 1] as ParsedNode;
  const dash = text.lastIndexOf('-', last.range[0]);
  const indent = columnOf(text, dash);
  const at = afterLineOf(text, last.range[1]);
  return { start: at.pos, end: at.pos, insert: `${at.newlineFirst ? '\n' : ''}${' '.repeat(indent)}- ${item}\n` };
}

// ---------------------------------------------------------------------------------------------
// Text helpers

function colonAfter(text: string, pos: number): number {
  const i = text.indexOf(':', pos);
  if (i < 0) throw new Error('no ":" after a key');
  return i;
}

function columnOf(text: string, pos: number): number {
  return pos - (text.lastIndexOf('\n', pos - 1) + 1);
}

/** The file's indentation step, from this map and its parent's key (2 when it cannot be told). */
function indentUnit(text: string, map: YAMLMap): number {
  const first = map.items[0] as Pair<ParsedNode> | undefined;
  if (!first || map.flow) return 2;
  const col = columnOf(text, first.key.range[0]);
  // The parent key sits on the line before the map's first key (or earlier): the nearest line
  // above with a smaller indentation.
  let lineStart = text.lastIndexOf('\n', first.key.range[0] - 1);
  while (lineStart > 0) {
    const prevStart = text.lastIndexOf('\n', lineStart - 1) + 1;
    const line = text.slice(prevStart, lineStart);
    const ind = line.length - line.trimStart().length;
    if (line.trim() !== '' && !line.trimStart().startsWith('#') && ind < col) return col - ind;
    lineStart = prevStart - 1;
  }
  return col > 0 ? col : 2;
}

/** Where a new line goes after a map's last item: after the line its value ends on. */
function afterLastItem(text: string, pair: Pair<ParsedNode, ParsedNode | null>): { pos: number; newlineFirst: boolean } {
  const end = pair.value ? pair.value.range[1] : pair.key.range[1];
  return afterLineOf(text, end);
}

function afterLineOf(text: string, end: number): { pos: number; newlineFirst: boolean } {
  let p = end;
  while (p > 0 && /\s/.test(text[p - 1]!)) p--;
  const nl = text.indexOf('\n', p);
  return nl < 0 ? { pos: text.length, newlineFirst: true } : { pos: nl + 1, newlineFirst: false };
}

function scalarText(value: unknown, style: string | undefined): string {
  const s = String(value);
  if (style === 'QUOTE_DOUBLE') return JSON.stringify(s);
  if (style === 'QUOTE_SINGLE') return `'${s.replace(/'/g, "''")}'`;
  // Plain when YAML reads it back as the same string (or number), else quoted.
  const back = parseDocument(`k: ${s}`).toJS() as { k?: unknown };
  return back.k === value || (typeof value === 'number' && back.k === value) ? s : JSON.stringify(s);
}

function blockLines(value: unknown, indent: number, unit: number): string[] {
  const body = stringify(value, { indent: unit, lineWidth: 0, indentSeq: true }).replace(/\n$/, '');
  return body.split('\n').map((l) => ' '.repeat(indent) + l);
}

function flowText(value: unknown): string {
  return stringify(value, { collectionStyle: 'flow', flowCollectionPadding: false, lineWidth: 0 }).trim();
}

// ---------------------------------------------------------------------------------------------
// Checking the result

function verify(beforeText: string, afterText: string, service: string, targets: Target[], source: string): void {
  const before = toPlain(parse(beforeText, source));
  const after = toPlain(parse(afterText, source));
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (key === 'services') continue;
    if (!deepEqual(before[key], after[key])) throw new InputError(source, `setting the limits of service ${service} would also change the top-level ${JSON.stringify(key)}; set them by hand`);
  }
  const sb = (before.services ?? {}) as Record<string, unknown>;
  const sa = (after.services ?? {}) as Record<string, unknown>;
  const others = [...new Set([...Object.keys(sb), ...Object.keys(sa)])].filter((s) => s !== service && !deepEqual(sb[s], sa[s]));
  if (others.length > 0) {
    throw new InputError(source, `setting the limits of service ${service} would also change service(s) ${others.join(', ')}, which inherit its settings through a YAML anchor; set them by hand`);
  }
  const b = stripTargets(sb[service], targets);
  const a = stripTargets(sa[service], targets);
  if (!deepEqual(b, a)) throw new Error(`compose patch changed more of service ${service} than its memory settings`);
  for (const t of targets) {
    const got = t.leaf.kind === 'env' ? envObject((sa[service] as Record<string, unknown>).environment)[GOMEMLIMIT] : getPath(sa[service], t.path);
    const ok = t.leaf.kind === 'env' ? got === t.leaf.value : sizeBytes(got) === Math.max(1, Math.ceil(t.leaf.bytes / MiB)) * MiB;
    if (!ok) throw new Error(`compose patch left ${t.path.join('.')} of service ${service} at ${JSON.stringify(got)}`);
  }
}

function toPlain(doc: Document.Parsed): Record<string, unknown> {
  const js = doc.toJS({ maxAliasCount: -1 }) as unknown;
  return typeof js === 'object' && js !== null ? (js as Record<string, unknown>) : {};
}

/** A service without the keys the patch may set, and without the maps left empty by that. */
function stripTargets(service: unknown, targets: Target[]): unknown {
  const copy = structuredClone(service) as Record<string, unknown>;
  for (const t of targets) {
    if (t.leaf.kind === 'env') {
      const env = envObject(copy.environment);
      delete env[GOMEMLIMIT];
      copy.environment = env;
      continue;
    }
    let m: unknown = copy;
    for (const k of t.path.slice(0, -1)) m = (m as Record<string, unknown> | undefined)?.[k];
    if (typeof m === 'object' && m !== null) delete (m as Record<string, unknown>)[t.path[t.path.length - 1]!];
  }
  return prune(copy);
}

function prune(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const p = prune(x);
    if (typeof p === 'object' && p !== null && !Array.isArray(p) && Object.keys(p).length === 0) continue;
    out[k] = p;
  }
  return out;
}

/** `environment` as a map whichever form it has (`KEY: v` or `- KEY=v`). */
function envObject(env: unknown): Record<string, unknown> {
  if (Array.isArray(env)) {
    const out: Record<string, unknown> = {};
    for (const item of env) {
      const s = String(item);
      const eq = s.indexOf('=');
      out[eq < 0 ? s : s.slice(0, eq)] = eq < 0 ? null : s.slice(eq + 1);
    }
    return out;
  }
  return typeof env === 'object' && env !== null ? { ...(env as Record<string, unknown>) } : {};
}

function getPath(v: unknown, path: string[]): unknown {
  let cur = v;
  for (const k of path) cur = typeof cur === 'object' && cur !== null ? (cur as Record<string, unknown>)[k] : undefined;
  return cur;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
