// The recommendation policy, as small steps composed in order (VPA's estimator style):
//
//   limit   = roundUp(4 MiB, floorAt(16 MiB, withHeadroom(20 %, plusRereadCache(plusMappedFiles(peak non-reclaimable)))))
//   request = roundUp(4 MiB, p90 of non-reclaimable memory), never above the limit
//   GOMEMLIMIT = 90 % of the limit (Go programs), leaving room for stacks and off-heap memory
//
// Page cache is left out on purpose: the kernel reclaims it at the limit, so sizing for it only
// wastes memory. For a Leak the limit is never raised: more memory only delays the OOM kill.
import { formatBytes, MiB } from '../model/units.ts';
import type { Recommendation, Verdict } from '../model/verdict.ts';
import { composeSize, dockerUpdateCommand, goMemLimitValue, kubernetesQuantity } from './format.ts';

export interface PolicyContext {
  verdict: Verdict;
  peakNonReclaimableBytes: number;
  p90NonReclaimableBytes: number;
  /** Peak of mapped file pages (program text, mmapped files): reclaimable, but in use. */
  peakMappedFileBytes: number;
  /** Page cache the program reads again after it is reclaimed (refaults seen); 0 when it does not. */
  rereadCacheBytes?: number;
  /** The peak leaves out kernel memory that grew with the files written (reclaimed with the cache). */
  kernelOfFilesLeftOut?: boolean;
  currentLimitBytes: number | null;
  isGo: boolean;
  headroomPercent: number;
  goMemLimit: boolean;
  /** Time until the limit for a Leak, for the warning. */
  timeToLimitText: string | null;
  containerName?: string;
}

export interface Estimate {
  bytes: number;
  rationale: string[];
}

export type Step = (e: Estimate, ctx: PolicyContext) => Estimate;

export const fromNonReclaimablePeak: Step = (_e, ctx) => ({
  bytes: ctx.peakNonReclaimableBytes,
  rationale: [
    `peak non-reclaimable memory (anon + shmem + kernel${ctx.kernelOfFilesLeftOut ? ', less the dentries and inodes of the files written, reclaimed with the cache' : ''}) ${formatBytes(ctx.peakNonReclaimableBytes)}`,
  ],
});

export const plusMappedFiles: Step = (e, ctx) =>
  ctx.peakMappedFileBytes > 0
    ? { bytes: e.bytes + ctx.peakMappedFileBytes, rationale: [...e.rationale, `+ mapped files in use ${formatBytes(ctx.peakMappedFileBytes)}`] }
    : e;

/** A cache the program re-reads is working memory: squeezing it out turns cache hits into disk reads. */
export const plusRereadCache: Step = (e, ctx) =>
  (ctx.rereadCacheBytes ?? 0) > 0
    ? { bytes: e.bytes + ctx.rereadCacheBytes!, rationale: [...e.rationale, `+ the page cache it re-reads ${formatBytes(ctx.rereadCacheBytes!)} (refaults seen)`] }
    : e;

export const withHeadroom =
  (percent: number): Step =>
  (e) => ({ bytes: e.bytes * (1 + percent / 100), rationale: [...e.rationale, `+${percent} % headroom`] });

export const floorAt =
  (minBytes: number): Step =>
  (e) => (e.bytes >= minBytes ? e : { bytes: minBytes, rationale: [...e.rationale, `raised to the ${formatBytes(minBytes)} floor`] });

export const roundUpTo =
  (stepBytes: number): Step =>
  (e) => ({ bytes: Math.ceil(e.bytes / stepBytes) * stepBytes, rationale: e.rationale });

/** For a Leak: keep the current limit (or none); a higher limit only postpones the OOM kill. */
export const neverRaiseForLeak: Step = (e, ctx) => {
  if (ctx.verdict !== 'Leak') return e;
  if (ctx.currentLimitBytes === null) return { bytes: NaN, rationale: [...e.rationale, 'Leak: no limit recommended until the leak is fixed'] };
  if (e.bytes <= ctx.currentLimitBytes) return { ...e, rationale: [...e.rationale, 'Leak: not above the current limit'] };
  return { bytes: ctx.currentLimitBytes, rationale: [...e.rationale, `Leak: kept at the current limit ${formatBytes(ctx.currentLimitBytes)} instead of raising it`] };
};

export const compose =
  (...steps: Step[]): Step =>
  (e, ctx) =>
    steps.reduce((acc, step) => step(acc, ctx), e);

export const DEFAULT_FLOOR_BYTES = 16 * MiB;
export const ROUNDING_BYTES = 4 * MiB;
export const GOMEMLIMIT_SHARE = 0.9;

export function defaultLimitPolicy(headroomPercent: number): Step {
  return compose(fromNonReclaimablePeak, plusMappedFiles, plusRereadCache, withHeadroom(headroomPercent), floorAt(DEFAULT_FLOOR_BYTES), roundUpTo(ROUNDING_BYTES), neverRaiseForLeak);
}

export function recommend(ctx: PolicyContext, policy: Step = defaultLimitPolicy(ctx.headroomPercent)): Recommendation {
  const empty: Recommendation = {
    memoryLimitBytes: null,
    memoryRequestBytes: null,
    goMemLimitBytes: null,
    kubernetes: null,
    compose: null,
    dockerUpdate: null,
    goMemLimit: null,
    rationale: [],
    warning: null,
  };
  if (ctx.verdict === 'InsufficientData') {
    return { ...empty, rationale: ['not enough data for a recommendation yet'] };
  }
  const limit = policy({ bytes: 0, rationale: [] }, ctx);
  const warning =
    ctx.verdict === 'Leak'
      ? `Do not raise the limit: this is a leak${ctx.timeToLimitText ? ` (limit reached in ${ctx.timeToLimitText})` : ''}; fix the growing source, more memory only delays the OOM kill.`
      : null;
  if (!Number.isFinite(limit.bytes)) return { ...empty, rationale: limit.rationale, warning };
  const requestRaw = Math.ceil(Math.max(ctx.p90NonReclaimableBytes, 1) / ROUNDING_BYTES) * ROUNDING_BYTES;
  const request = Math.min(requestRaw, limit.bytes);
  const goBytes = ctx.isGo && ctx.goMemLimit ? Math.floor((limit.bytes * GOMEMLIMIT_SHARE) / MiB) * MiB : null;
  return {
    memoryLimitBytes: limit.bytes,
    memoryRequestBytes: request,
    goMemLimitBytes: goBytes,
    kubernetes: { limits: { memory: kubernetesQuantity(limit.bytes) }, requests: { memory: kubernetesQuantity(request) } },
    compose: { mem_limit: composeSize(limit.bytes), mem_reservation: composeSize(request) },
    dockerUpdate: dockerUpdateCommand(limit.bytes, request, ctx.containerName),
    goMemLimit: goBytes !== null ? goMemLimitValue(goBytes) : null,
    rationale: goBytes !== null ? [...limit.rationale, `GOMEMLIMIT ${GOMEMLIMIT_SHARE * 100} % of the limit`] : limit.rationale,
    warning,
  };
}
