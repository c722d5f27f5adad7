import { secondsFromDuration } from '../model/units.ts';
import { PPROF_PATH_PATTERN } from '../sampling/pod-pprof.ts';
import { DEFAULTS, type Action, type LabelSelector, type MemoryAuditSpec } from './api/v1alpha1.ts';

/** A MemoryAudit spec with defaults applied and durations in milliseconds. */
export interface ResolvedSpec {
  selector: LabelSelector;
  containers: string[] | null;
  intervalMs: number;
  windowMs: number;
  minDurationMs: number;
  pprof: { port: number; path: string } | null;
  headroomPercent: number;
  goMemLimit: boolean;
  action: Action;
  /** Load the window's history from Prometheus at a container's first reconcile (when the controller has one). */
  backfill: boolean;
}

const PPROF_PATH_RE = new RegExp(PPROF_PATH_PATTERN);

/**
 * The API server validated and defaulted the spec already; this applies the same defaults for
 * objects stored before a default existed and re-checks what the controller relies on, returning
 * a message instead of throwing (an invalid spec is a status, not a crash).
 */
export function resolveSpec(spec: MemoryAuditSpec): ResolvedSpec | { error: string } {
  const dur = (field: string, v: string | undefined, def: string): number | string => {
    const s = secondsFromDuration(v ?? def);
    return s === null || s <= 0 ? `spec.${field}: ${JSON.stringify(v)} is not a duration such as 30s or 6h` : Math.round(s * 1000);
  };
  const intervalMs = dur('interval', spec.interval, DEFAULTS.interval);
  const windowMs = dur('window', spec.window, DEFAULTS.window);
  const minDurationMs = dur('minDuration', spec.minDuration, DEFAULTS.minDuration);
  for (const v of [intervalMs, windowMs, minDurationMs]) if (typeof v === 'string') return { error: v };
  if ((minDurationMs as number) > (windowMs as number)) return { error: 'spec.minDuration must not exceed spec.window' };
  if ((intervalMs as number) < 1000) return { error: 'spec.interval must be at least 1s' };
  let pprof: ResolvedSpec['pprof'] = null;
  if (spec.pprof) {
    const path = spec.pprof.path ?? DEFAULTS.pprofPath;
    if (!Number.isInteger(spec.pprof.port) || spec.pprof.port < 1 || spec.pprof.port > 65535) return { error: 'spec.pprof.port must be 1-65535' };
    if (!PPROF_PATH_RE.test(path)) return { error: 'spec.pprof.path must be a path under /debug/pprof/' };
    pprof = { port: spec.pprof.port, path };
  }
  return {
    selector: spec.selector ?? {},
    containers: spec.containers && spec.containers.length > 0 ? spec.containers : null,
    intervalMs: intervalMs as number,
    windowMs: windowMs as number,
    minDurationMs: minDurationMs as number,
    pprof,
    headroomPercent: spec.recommend?.headroomPercent ?? DEFAULTS.headroomPercent,
    goMemLimit: spec.recommend?.goMemLimit ?? DEFAULTS.goMemLimit,
    action: spec.action ?? DEFAULTS.action,
    backfill: spec.backfill ?? DEFAULTS.backfill,
  };
}
