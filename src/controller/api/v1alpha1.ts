// MemoryAudit v1alpha1: the one source of both the controller's types and the CRD's OpenAPI
// schema (hack/gen-crd.ts renders crds/ and the chart's copy from it).
import { LEAK_SOURCES, VERDICTS } from '../../model/verdict.ts';
import { GrowthReason } from './conditions.ts';
import { array, boolean, enumOf, integer, mapOf, nullable, number, object, required, string, type Infer } from './schema.ts';
import type { ObjectMeta } from '../runtime/kube/types.ts';
import { PPROF_PATH_PATTERN } from '../../sampling/pod-pprof.ts';

export const GROUP = 'memaudit.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'MemoryAudit';
export const PLURAL = 'memoryaudits';

/** Go-style durations limited to the units that make sense here: 500ms, 30s, 1h30m. */
export const DURATION_PATTERN = '^([0-9]+(ms|s|m|h))+$';
export const MAX_STATUS_TARGETS = 50;
export const MAX_GROWING_FUNCTIONS = 5;

const ACTIONS = ['Observe', 'Recommend', 'Patch'] as const;
export type Action = (typeof ACTIONS)[number];
const TARGET_STATES = ['Sampling', 'Failing', 'Gone'] as const;
export type TargetState = (typeof TARGET_STATES)[number];
const PATCH_RESULTS = ['Applied', 'Refused', 'Failed'] as const;

export const DEFAULTS = {
  interval: '30s',
  window: '6h',
  minDuration: '30m',
  action: 'Observe',
  headroomPercent: 20,
  goMemLimit: false,
  pprofPath: '/debug/pprof/heap',
  backfill: true,
} as const;

const duration = (description: string, def: string) => string(description, { pattern: DURATION_PATTERN, maxLength: 32, default: def });
const quantity = (description: string) => string(description, { maxLength: 64 });
const bytesPerHour = (component: string) => integer(`Growth rate of ${component}, bytes per hour (robust slope over the window; negative when it shrinks).`, { format: 'int64' });

const labelSelector = object(
  'Selects the pods to audit, in the MemoryAudit\'s own namespace only. The usual label selector: matchLabels and matchExpressions are ANDed.',
  {
    matchLabels: mapOf('Labels a pod must carry, key to value.', string('Label value.', { maxLength: 63 })),
    matchExpressions: array(
      'Set-based requirements a pod\'s labels must meet.',
      object('One label requirement.', {
        key: required(string('The label key the requirement applies to.', { minLength: 1, maxLength: 317 })),
        operator: required(enumOf('How the key relates to the values.', ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const)),
        values: array('Values for In and NotIn; empty for Exists and DoesNotExist.', string('A label value.', { maxLength: 63 }), { maxItems: 64, listType: 'atomic' }),
      }),
      { maxItems: 32, listType: 'atomic' },
    ),
  },
  { mapType: 'atomic' },
);

export const memoryAuditSpecSchema = object(
  'What to audit, how often, and what to do with the verdict.',
  {
    selector: required(labelSelector),
    containers: array(
      'Names of the containers to audit in each selected pod. Empty means all containers.',
      string('A container name.', { minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' }),
      { maxItems: 32, listType: 'set' },
    ),
    interval: duration('Sampling period, e.g. 30s. At least 1s.', DEFAULTS.interval),
    window: duration('How much evidence is kept per container, e.g. 6h. Older samples are dropped; the verdict is computed over this window.', DEFAULTS.window),
    minDuration: duration('No verdict before this much evidence is gathered (the verdict stays InsufficientData), e.g. 30m. Must not exceed window.', DEFAULTS.minDuration),
    pprof: object('The Go heap profile endpoint the targets serve, on their own pod IP. Optional: without it the verdict uses cgroup statistics only and cannot name a growing function.', {
      port: required(integer('Container port serving net/http/pprof.', { minimum: 1, maximum: 65535 })),
      path: string('Path of the heap profile under /debug/pprof/.', { pattern: PPROF_PATH_PATTERN, maxLength: 64, default: DEFAULTS.pprofPath }),
    }),
    recommend: object(
      'How memory limits are recommended.',
      {
        headroomPercent: integer('Headroom added above the observed non-reclaimable peak, in percent.', { minimum: 0, maximum: 400, default: DEFAULTS.headroomPercent }),
        goMemLimit: boolean('Also recommend GOMEMLIMIT for Go targets (and, with action Patch, set it in the container\'s env).', { default: DEFAULTS.goMemLimit }),
      },
      { default: {} },
    ),
    backfill: boolean(
      'Start each container\'s evidence from the memory history in Prometheus, when the controller has one (--prometheus-url): the window back from now is loaded at the first reconcile, so a workload with history gets its verdict at once instead of after minDuration; live samples continue from there. false: live samples only.',
      { default: DEFAULTS.backfill },
    ),
    action: enumOf(
      'Observe writes the verdict only; Recommend adds recommended limits to the status; Patch also writes the recommended memory limit/request into the owning Deployment, StatefulSet or DaemonSet (never for a Leak, at most once per window).',
      ACTIONS,
      { default: DEFAULTS.action },
    ),
  },
  {
    validations: [
      { rule: "duration(self.minDuration) <= duration(self.window)", message: 'spec.minDuration must not exceed spec.window', fieldPath: '.minDuration', reason: 'FieldValueInvalid' },
      { rule: "duration(self.interval) >= duration('1s')", message: 'spec.interval must be at least 1s', fieldPath: '.interval', reason: 'FieldValueInvalid' },
      { rule: 'duration(self.interval) <= duration(self.minDuration)', message: 'spec.interval must not exceed spec.minDuration', fieldPath: '.interval', reason: 'FieldValueInvalid' },
    ],
  },
);

const conditionSchema = object('One aspect of the audit\'s state (metav1.Condition).', {
  type: required(string('Condition type: Ready, MemoryGrowth or Patched.', { maxLength: 316, pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$' })),
  status: required(enumOf('True, False or Unknown.', ['True', 'False', 'Unknown'] as const)),
  observedGeneration: integer('The .metadata.generation the condition was computed from.', { minimum: 0, format: 'int64' }),
  lastTransitionTime: required(string('When the status last changed.', { format: 'date-time' })),
  reason: required(string('Machine-readable reason in CamelCase, e.g. PageCache, GoHeap, TargetsMissing.', { minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' })),
  message: required(string('What happened, in one sentence a person can act on.', { maxLength: 32768 })),
});

const growthSchema = object('Growth rate per memory component over the window (bytes per hour). Absent components were not measured.', {
  usage: bytesPerHour('usage (memory.usage_in_bytes / memory.current)'),
  workingSet: bytesPerHour('the working set (usage - inactive_file)'),
  anon: bytesPerHour('anonymous memory (rss / anon)'),
  file: bytesPerHour('the page cache (cache / file)'),
  shmem: bytesPerHour('shared memory and tmpfs'),
  kernel: bytesPerHour('kernel memory'),
  goHeap: bytesPerHour('the Go heap in use'),
});

const targetStatusSchema = object('The result for one container of one selected pod.', {
  pod: required(string('Pod name.', { maxLength: 253 })),
  container: required(string('Container name.', { maxLength: 63 })),
  node: string('Node the pod runs on.', { maxLength: 253 }),
  state: required(enumOf('Sampling: samples arrive; Failing: the last sampling attempts failed (see message); Gone: the pod was deleted, the last result is kept until the window passes.', TARGET_STATES)),
  verdict: required(enumOf('Stable, Plateau, CacheGrowth (reclaimable page cache, benign), Leak, or InsufficientData.', VERDICTS)),
  leakSource: nullable(enumOf('With a Leak: heap, offHeap, anon, shmem or kernel; otherwise null.', LEAK_SOURCES)),
  explanation: string('The verdict in one sentence.', { maxLength: 1024 }),
  message: string('Why sampling fails, when state is Failing, or what happened to the pod, when Gone.', { maxLength: 1024 }),
  samples: integer('Samples in the window.', { minimum: 0 }),
  windowSeconds: integer('Time the samples span, seconds.', { minimum: 0, format: 'int64' }),
  growthBytesPerHour: growthSchema,
  r2: number('Goodness of the linear fit of the deciding component, 0..1.', { minimum: 0, maximum: 1 }),
  limit: quantity('The container\'s current memory limit as the cgroup reports it, e.g. 64Mi; absent when unlimited.'),
  timeToLimitSeconds: nullable(integer('Seconds until non-reclaimable memory reaches the limit at the current rate; null when never or unknown.', { minimum: 0, format: 'int64' })),
  recommendedLimit: quantity('Recommended memory limit, e.g. 96Mi; absent for a Leak (fix the leak instead).'),
  recommendedRequest: quantity('Recommended memory request, e.g. 80Mi.'),
  topGrowingFunctions: array(
    'Functions whose in-use heap grew most over the window (Go heap profile), largest first.',
    object('One growing call site.', {
      function: required(string('Fully qualified Go function name.', { maxLength: 512 })),
      growthBytes: required(integer('In-use bytes it allocated directly that were added over the window.', { format: 'int64' })),
    }),
    { maxItems: MAX_GROWING_FUNCTIONS, listType: 'atomic' },
  ),
  lastSampleTime: string('When the last sample was taken.', { format: 'date-time' }),
});

const recommendationSchema = object('Recommended limits for the container the summary verdict is about. Absent with action Observe.', {
  container: required(string('The container the numbers are for.', { maxLength: 63 })),
  memoryLimit: quantity('resources.limits.memory, e.g. 96Mi.'),
  memoryRequest: quantity('resources.requests.memory, e.g. 80Mi.'),
  goMemLimit: string('GOMEMLIMIT value, e.g. 80MiB (Go targets, recommend.goMemLimit).', { maxLength: 32 }),
  composeMemLimit: string('Compose mem_limit, e.g. 96m.', { maxLength: 32 }),
  warning: string('Why no higher limit is recommended (a Leak): what to do instead.', { maxLength: 1024 }),
  patch: string('Strategic merge patch for the owning workload\'s pod template, as `kubectl patch --patch` takes it.', { maxLength: 4096 }),
});

const lastPatchSchema = object('The last time the controller acted on the owning workload (action Patch).', {
  time: required(string('When.', { format: 'date-time' })),
  result: required(enumOf('Applied, Refused (e.g. a Leak: raising the limit would only delay the OOM kill) or Failed.', PATCH_RESULTS)),
  kind: string('Deployment, StatefulSet or DaemonSet.', { maxLength: 64 }),
  name: string('Workload name.', { maxLength: 253 }),
  container: string('Container whose resources were written.', { maxLength: 63 }),
  previousLimit: quantity('Memory limit before the patch; absent when none was set.'),
  limit: quantity('Memory limit written.'),
  previousRequest: quantity('Memory request before the patch; absent when none was set.'),
  request: quantity('Memory request written.'),
  goMemLimit: string('GOMEMLIMIT written, when recommend.goMemLimit is set.', { maxLength: 32 }),
  message: required(string('What was done or why not.', { maxLength: 1024 })),
});

export const memoryAuditStatusSchema = object('What the controller found. Written only by the controller, through the status subresource.', {
  observedGeneration: integer('The .metadata.generation this status was computed from.', { minimum: 0, format: 'int64' }),
  conditions: array('Ready, MemoryGrowth and (with action Patch) Patched.', conditionSchema, { maxItems: 8, listType: 'map', listMapKeys: ['type'] }),
  verdict: enumOf('The most severe verdict among the targets (Leak > CacheGrowth > Plateau > Stable > InsufficientData).', VERDICTS),
  leakSource: nullable(enumOf('With a Leak: where the memory goes (heap, offHeap, anon, shmem, kernel); otherwise null.', LEAK_SOURCES)),
  growth: string('Growth rate of the component that decides the summary verdict, e.g. +12Mi/h.', { maxLength: 32 }),
  recommendedLimit: quantity('Recommended memory limit for the summary container, e.g. 96Mi.'),
  targetCount: integer('How many containers the audit tracks (targets lists at most 50).', { minimum: 0 }),
  targets: array('Per-container results, most severe first, at most 50.', targetStatusSchema, { maxItems: MAX_STATUS_TARGETS, listType: 'atomic' }),
  recommendation: recommendationSchema,
  lastPatch: lastPatchSchema,
  lastSampleTime: string('When the last sampling round finished.', { format: 'date-time' }),
});

export type MemoryAuditSpec = Infer<typeof memoryAuditSpecSchema>;
export type MemoryAuditStatus = Infer<typeof memoryAuditStatusSchema>;
export type TargetStatus = Infer<typeof targetStatusSchema>;
export type Condition = NonNullable<MemoryAuditStatus['conditions']>[number];
export type LastPatch = NonNullable<MemoryAuditStatus['lastPatch']>;
export type RecommendationStatus = NonNullable<MemoryAuditStatus['recommendation']>;
export type LabelSelector = Infer<typeof labelSelector>;

export interface MemoryAudit {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: MemoryAuditSpec;
  status?: MemoryAuditStatus;
}

export const PRINTER_COLUMNS = [
  { name: 'Verdict', type: 'string', jsonPath: '.status.verdict', description: 'Most severe verdict among the targets.' },
  { name: 'Source', type: 'string', jsonPath: '.status.leakSource', description: 'Where a leak goes: heap, offHeap, anon, shmem, kernel.' },
  { name: 'Growth', type: 'string', jsonPath: '.status.growth', description: 'Growth rate of the deciding component.' },
  { name: 'Limit', type: 'string', jsonPath: '.status.recommendedLimit', description: 'Recommended memory limit.' },
  { name: 'Targets', type: 'integer', jsonPath: '.status.targetCount', description: 'Containers audited.', priority: 1 },
  { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'Time since the audit was created.' },
] as const;

const LEAK_REASONS: Record<(typeof LEAK_SOURCES)[number], GrowthReason> = { heap: GrowthReason.GoHeap, offHeap: GrowthReason.OffHeap, anon: GrowthReason.Anonymous, shmem: GrowthReason.SharedMemory, kernel: GrowthReason.KernelMemory };

/** The MemoryGrowth reason for a verdict and leak source (a Leak of unknown source is Anonymous). */
export function growthReason(verdict: (typeof VERDICTS)[number], leakSource: (typeof LEAK_SOURCES)[number] | null): GrowthReason {
  if (verdict === 'CacheGrowth') return GrowthReason.PageCache;
  return verdict === 'Leak' ? LEAK_REASONS[leakSource ?? 'anon'] : GrowthReason[verdict];
}
