// `--write-limit`: what to write into the Compose file after auditing every replica of a service,
// and the writing itself.
//
// One limit fits all replicas: the largest recommendation among them. Nothing is written when any
// replica leaks (a higher limit only delays the OOM kill, and a lower one would not be a fix
// either) or has no recommendation yet (InsufficientData).
import { randomBytes } from 'node:crypto';
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { chmod, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.ts';
import { formatBytes, formatDuration } from '../model/units.ts';
import type { AuditResult } from '../model/verdict.ts';
import { patchComposeLimits } from './compose-patch.ts';
import type { ComposeChange, ComposeLimits } from './compose-patch.ts';

export type LimitDecision = { kind: 'write'; limits: ComposeLimits; from: string } | { kind: 'refuse'; reason: string };

export interface ReplicaResult {
  name: string;
  result: AuditResult;
}

export function composeLimitsFrom(replicas: readonly ReplicaResult[], options: { goMemLimit: boolean }): LimitDecision {
  const leaking = replicas.filter((r) => r.result.verdict === 'Leak');
  if (leaking.length > 0) {
    const r = leaking[0]!;
    const ttl = r.result.timeToLimitSeconds !== null ? `, limit reached in ${formatDuration(r.result.timeToLimitSeconds)}` : '';
    const growing = r.result.topGrowingFunctions[0] ? `, growing: ${r.result.topGrowingFunctions[0].function}` : '';
    return {
      kind: 'refuse',
      reason: `${leaking.map((x) => x.name).join(', ')} leak${leaking.length === 1 ? 's' : ''} (Leak/${r.result.leakSource}${ttl}${growing}): a higher limit only delays the OOM kill; fix the leak first. Nothing written`,
    };
  }
  const without = replicas.filter((r) => r.result.recommendation.memoryLimitBytes === null);
  if (without.length > 0 || replicas.length === 0) {
    const r = without[0];
    return { kind: 'refuse', reason: `no recommended limit${r ? ` for ${r.name} (${r.result.verdict}: ${r.result.recommendation.rationale.join(', ') || r.result.explanation})` : ''}. Nothing written` };
  }
  const top = replicas.reduce((a, b) => (b.result.recommendation.memoryLimitBytes! > a.result.recommendation.memoryLimitBytes! ? b : a));
  const rec = top.result.recommendation;
  const limit = rec.memoryLimitBytes!;
  const reservation = Math.min(limit, Math.max(...replicas.map((r) => r.result.recommendation.memoryRequestBytes ?? 0)));
  return {
    kind: 'write',
    limits: {
      memLimitBytes: limit,
      memReservationBytes: reservation > 0 ? reservation : null,
      goMemLimitBytes: options.goMemLimit ? (rec.goMemLimitBytes ?? Math.floor((limit * 0.9) / (1024 * 1024)) * 1024 * 1024) : null,
    },
    from: replicas.length > 1 ? `the largest of ${replicas.length} replicas' recommendations (${top.name}: ${formatBytes(limit)})` : `the recommendation for ${top.name}`,
  };
}

export interface WriteOutcome {
  file: string;
  changes: ComposeChange[];
  /** Unified diff of the file, empty when nothing changed. */
  diff: string;
}

/**
 * Patches the service in the file (read now, not at the start of the audit: the user may have
 * edited it meanwhile) and replaces the file atomically, keeping its mode.
 */
export async function writeComposeLimits(file: string, service: string, limits: ComposeLimits): Promise<WriteOutcome> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new InputError(file, `cannot read the Compose file: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
  const patch = patchComposeLimits(text, service, limits, file);
  if (patch.text === text) return { file, changes: [], diff: '' };
  const name = path.basename(file);
  const diff = composeFileDiff(text, patch.text, `a/${name}`, `b/${name}`);
  const tmp = path.join(path.dirname(file), `.${name}.memaudit-${randomBytes(4).toString('hex')}`);
  try {
    const mode = (await stat(file)).mode & 0o7777;
    await writeFile(tmp, patch.text, { mode });
    await chmod(tmp, mode);
    await rename(tmp, file);
  } catch (cause) {
    await rm(tmp, { force: true });
    throw new InputError(file, `cannot write the Compose file: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
  return { file, changes: patch.changes, diff };
}

/**
 * What `--write-limit` changed, as `diff -u` prints it (jsdiff: `---`/`+++` file headers, hunks
 * with three lines of context, `\ No newline at end of file` where a text lacks its last newline);
 * empty when nothing changed.
 */
export function composeFileDiff(before: string, after: string, fromName: string, toName: string): string {
  return before === after ? '' : createTwoFilesPatch(fromName, toName, before, after, undefined, undefined, { context: 3, headerOptions: FILE_HEADERS_ONLY });
}
