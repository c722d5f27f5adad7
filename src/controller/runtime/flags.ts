// The controller's configuration, read once from its command-line flags (and the two
// downward-API variables a Deployment sets) and passed down; no module reads the environment.
// docs/operator.md lists every flag.
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { UsageError } from '../../errors.ts';
import { secondsFromDuration } from '../../model/units.ts';
import { parseLabelMatchers, type LabelMatcher } from '../../sources/promql.ts';
import { homeShardOf } from './shards.ts';

export type Access = 'proxy' | 'direct';

export interface LeaderElectionConfig {
  enabled: boolean;
  namespace: string;
  leaseName: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** The Prometheus (Thanos, Mimir, VictoriaMetrics) whose history starts a new audit's evidence. */
export interface PrometheusConfig {
  url: string;
  /** Read again every minute: a projected service-account token rotates. */
  bearerTokenFile: string | null;
  /** A file holding USER:PASSWORD. */
  basicAuthFile: string | null;
  caFile: string | null;
  insecureSkipTlsVerify: boolean;
  headers: Record<string, string>;
  /** Extra matchers for every series (cluster="prod" where one Prometheus holds many clusters). */
  selector: LabelMatcher[];
  timeoutMs: number;
}

export interface ControllerConfig {
  /** Kubeconfig file; null = in-cluster or $KUBECONFIG / ~/.kube/config as client-node resolves them. */
  kubeconfig: string | null;
  /** Only audits (and pods) in these namespaces; empty = all namespaces. */
  namespaces: string[];
  /** Where /metrics, /healthz and /readyz are served. */
  listen: { host: string; port: number };
  /** How kubelet /metrics/cadvisor is reached: through the API server's node proxy, or the node's InternalIP. */
  kubeletAccess: Access;
  kubeletCaFile: string | null;
  kubeletInsecureSkipTlsVerify: boolean;
  kubeletTimeoutMs: number;
  /** How heap profiles are reached: the pod IP, or the API server's pods/proxy. */
  pprofAccess: Access;
  pprofTimeoutMs: number;
  leaderElection: LeaderElectionConfig;
  /** Audits are spread over this many shards, one Lease each (1: one Lease, as without shards). */
  shards: number;
  /** The shard this replica contends for at once: its StatefulSet ordinal ($POD_NAME) mod shards, else the hash of $POD_NAME; null: no $POD_NAME. */
  homeShard: number | null;
  /** How often evidence is written to the audit's ConfigMap (0 disables persistence). */
  stateSyncPeriodMs: number;
  /** How long a status that changed only in progress (samples, times, rates) may wait to be written. */
  statusSyncPeriodMs: number;
  maxSamplesPerTarget: number;
  maxTargetsPerAudit: number;
  concurrentReconciles: number;
  logLevel: string;
  /** null: no backfill, live samples only. */
  prometheus: PrometheusConfig | null;
}

export const CONTROLLER_FLAGS = {
  kubeconfig: { type: 'string' },
  namespace: { type: 'string', multiple: true },
  listen: { type: 'string', default: ':8080' },
  'kubelet-access': { type: 'string', default: 'proxy' },
  'kubelet-ca-file': { type: 'string' },
  'kubelet-insecure-skip-tls-verify': { type: 'boolean', default: false },
  'kubelet-timeout': { type: 'string', default: '10s' },
  'pprof-access': { type: 'string', default: 'direct' },
  'pprof-timeout': { type: 'string', default: '10s' },
  'leader-elect': { type: 'boolean', default: true },
  'no-leader-elect': { type: 'boolean', default: false },
  'leader-election-namespace': { type: 'string' },
  'leader-election-id': { type: 'string', default: 'memaudit-controller' },
  'leader-elect-lease-duration': { type: 'string', default: '15s' },
  'leader-elect-renew-deadline': { type: 'string', default: '10s' },
  'leader-elect-retry-period': { type: 'string', default: '2s' },
  shards: { type: 'string', default: '1' },
  'state-sync-period': { type: 'string', default: '5m' },
  'status-sync-period': { type: 'string', default: '5m' },
  'max-samples-per-target': { type: 'string', default: '280' },
  'max-targets-per-audit': { type: 'string', default: '200' },
  'concurrent-reconciles': { type: 'string', default: '4' },
  'log-level': { type: 'string', default: 'info' },
  'prometheus-url': { type: 'string' },
  'prometheus-bearer-token-file': { type: 'string' },
  'prometheus-basic-auth-file': { type: 'string' },
  'prometheus-ca-file': { type: 'string' },
  'prometheus-insecure-skip-tls-verify': { type: 'boolean', default: false },
  'prometheus-header': { type: 'string', multiple: true },
  'prometheus-selector': { type: 'string' },
  'prometheus-timeout': { type: 'string', default: '30s' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const CONTROLLER_USAGE = `Usage: memaudit controller [options]

Runs the MemoryAudit controller: watches MemoryAudits and Pods, samples kubelet /metrics/cadvisor
(and Go heap profiles), writes verdicts to status, Events and /metrics, and patches limits for
audits with action: Patch.

Options:
  --kubeconfig FILE                  kubeconfig (default: in-cluster, $KUBECONFIG, ~/.kube/config)
  --namespace NS[,NS...]             only audits (and their pods) in these namespaces, one watch
                                     each; repeatable (default: all namespaces)
  --listen [HOST]:PORT               /metrics, /healthz, /readyz (default :8080)
  --kubelet-access proxy|direct      via the API server's node proxy (default) or the node's InternalIP
  --kubelet-ca-file FILE             CA of kubelet serving certs (direct access)
  --kubelet-insecure-skip-tls-verify do not verify kubelet serving certs (direct access)
  --kubelet-timeout DURATION         per scrape (default 10s)
  --pprof-access direct|proxy        pod IP (default) or the API server's pods/proxy
  --pprof-timeout DURATION           per heap profile (default 10s)
  --no-leader-elect                  act without a Lease (one replica only)
  --leader-election-namespace NS     namespace of the Lease (default: $POD_NAMESPACE or memaudit-system)
  --leader-election-id NAME          Lease name (default memaudit-controller)
  --leader-elect-lease-duration D    (default 15s)
  --leader-elect-renew-deadline D    (default 10s)
  --leader-elect-retry-period D      (default 2s)
  --shards N                         spread audits over N shards, one Lease each (NAME-shard-I);
                                     a replica takes its own shard (the ordinal of $POD_NAME, else
                                     its hash) at once, another only when its holder is gone
                                     (default 1)
  --state-sync-period DURATION       write evidence to a ConfigMap per audit this often, and on
                                     shutdown and shard handover (default 5m; 0s: never)
  --status-sync-period DURATION      write a status that changed only in progress (samples, times,
                                     rates, sizes) this often; a new verdict, state, condition or
                                     patch is written at once (default 5m; 0s: every change)
  --max-samples-per-target N         samples held per container, older ones two per time bucket
                                     (default 280: 24 h at 30 s in under 4 KiB)
  --max-targets-per-audit N          (default 200)
  --concurrent-reconciles N          (default 4)
  --log-level LEVEL                  trace|debug|info|warn|error (default info)

Backfill from Prometheus (optional; a MemoryAudit opts out with spec.backfill: false):
  --prometheus-url URL               the HTTP API of a Prometheus, Thanos, Mimir or VictoriaMetrics
                                     holding the cluster's cAdvisor series: a new audit's evidence
                                     starts from its window of history, so it has a verdict at once
  --prometheus-bearer-token-file F   bearer token, read again every minute
  --prometheus-basic-auth-file F     USER:PASSWORD
  --prometheus-ca-file FILE          CA of the server's certificate
  --prometheus-insecure-skip-tls-verify
  --prometheus-header 'NAME: VALUE'  extra request header, repeatable (X-Scope-OrgID: tenant)
  --prometheus-selector LABELS       matchers for every series, e.g. 'cluster="prod"'
  --prometheus-timeout DURATION      per query (default 30s)
`;

/** The environment variables the controller reads (a Deployment sets them from the downward API). */
export interface ControllerEnv {
  POD_NAME?: string | undefined;
  POD_NAMESPACE?: string | undefined;
}

function ms(flag: string, value: string, allowZero = false): number {
  const s = value === '0' ? 0 : secondsFromDuration(value);
  if (s === null || (!allowZero && s <= 0)) throw new UsageError(`--${flag}: expected a duration such as 10s or 1m, got ${JSON.stringify(value)}`);
  return Math.round(s * 1000);
}

/** RFC 1123 label: what a namespace name is. */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** --namespace a,b --namespace c -> [a, b, c], without duplicates. */
function namespaceList(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values.flatMap((x) => x.split(','))) {
    const ns = v.trim();
    if (ns === '') continue;
    if (!NAMESPACE_NAME.test(ns)) throw new UsageError(`--namespace: ${JSON.stringify(ns)} is not a namespace name (lowercase letters, digits and '-', at most 63)`);
    if (!out.includes(ns)) out.push(ns);
  }
  return out;
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${flag}: expected a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

function access(flag: string, value: string): Access {
  if (value !== 'proxy' && value !== 'direct') throw new UsageError(`--${flag}: expected proxy or direct, got ${JSON.stringify(value)}`);
  return value;
}

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[?([^\]]*)\]?)?:(\d+)$/.exec(value);
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--listen: expected [HOST]:PORT such as :8080 or 127.0.0.1:8080, got ${JSON.stringify(value)}`);
  return { host: m[1] || '0.0.0.0', port };
}

function prometheusConfig(v: { url: string | undefined; bearerTokenFile: string | undefined; basicAuthFile: string | undefined; caFile: string | undefined; insecure: boolean; headers: string[] | undefined; selector: string | undefined; timeout: string }): PrometheusConfig | null {
  if (v.url === undefined) {
    const stray = [v.bearerTokenFile && 'bearer-token-file', v.basicAuthFile && 'basic-auth-file', v.caFile && 'ca-file', v.selector !== undefined && 'selector', v.headers?.length && 'header', v.insecure && 'insecure-skip-tls-verify'].find(Boolean);
    if (stray) throw new UsageError(`--prometheus-${stray}: needs --prometheus-url`);
    return null;
  }
  let url: URL;
  try {
    url = new URL(v.url);
  } catch {
    throw new UsageError(`--prometheus-url: expected an http:// or https:// URL, got ${JSON.stringify(v.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--prometheus-url: expected an http:// or https:// URL, got ${JSON.stringify(v.url)}`);
  if (v.bearerTokenFile && v.basicAuthFile) throw new UsageError('--prometheus-bearer-token-file: give it or --prometheus-basic-auth-file, not both');
  const selector = v.selector === undefined ? [] : parseLabelMatchers(v.selector);
  if ('error' in selector) throw new UsageError(`--prometheus-selector: ${selector.error}`);
  const headers: Record<string, string> = {};
  for (const h of v.headers ?? []) {
    const m = /^([A-Za-z0-9-]+)\s*:\s*(.*)$/.exec(h);
    if (!m) throw new UsageError(`--prometheus-header: expected 'NAME: VALUE', got ${JSON.stringify(h)}`);
    headers[m[1]!.toLowerCase()] = m[2]!;
  }
  return {
    url: url.href,
    bearerTokenFile: v.bearerTokenFile ?? null,
    basicAuthFile: v.basicAuthFile ?? null,
    caFile: v.caFile ?? null,
    insecureSkipTlsVerify: v.insecure,
    headers,
    selector,
    timeoutMs: ms('prometheus-timeout', v.timeout),
  };
}

export type ParsedControllerArgs = { help: true } | { help: false; config: ControllerConfig };

/** The flags' values as node:util parseArgs gives them for CONTROLLER_FLAGS. */
export type ControllerFlagValues = ReturnType<typeof parseArgs<{ options: typeof CONTROLLER_FLAGS; strict: true }>>['values'];

export function controllerConfigFromArgs(argv: string[], env: ControllerEnv): ParsedControllerArgs {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: CONTROLLER_FLAGS, allowPositionals: false, strict: true }));
  } catch (e) {
    throw new UsageError(`controller: ${(e as Error).message}`, { cause: e });
  }
  if (values.help) return { help: true };
  return { help: false, config: controllerConfigFromValues(values, env) };
}

/** The configuration from parsed flags (`memaudit controller` reads them with the CLI's shared reader). */
export function controllerConfigFromValues(values: Omit<ControllerFlagValues, 'help'>, env: ControllerEnv): ControllerConfig {
  const leaseDurationMs = ms('leader-elect-lease-duration', values['leader-elect-lease-duration']);
  const renewDeadlineMs = ms('leader-elect-renew-deadline', values['leader-elect-renew-deadline']);
  const retryPeriodMs = ms('leader-elect-retry-period', values['leader-elect-retry-period']);
  // client-go's rules: a leader must give up before another may take over.
  if (renewDeadlineMs >= leaseDurationMs) throw new UsageError('--leader-elect-renew-deadline must be shorter than --leader-elect-lease-duration');
  if (retryPeriodMs >= renewDeadlineMs) throw new UsageError('--leader-elect-retry-period must be shorter than --leader-elect-renew-deadline');
  const identity = `${env.POD_NAME || os.hostname()}_${randomBytes(4).toString('hex')}`;
  const enabled = values['leader-elect'] && !values['no-leader-elect'];
  const shards = positiveInt('shards', values.shards);
  if (shards > 1 && !enabled) throw new UsageError('--shards: more than one shard needs leader election (without --no-leader-elect)');
  return {
    kubeconfig: values.kubeconfig ?? null,
    namespaces: namespaceList(values.namespace ?? []),
    listen: parseListen(values.listen),
    kubeletAccess: access('kubelet-access', values['kubelet-access']),
    kubeletCaFile: values['kubelet-ca-file'] ?? null,
    kubeletInsecureSkipTlsVerify: values['kubelet-insecure-skip-tls-verify'],
    kubeletTimeoutMs: ms('kubelet-timeout', values['kubelet-timeout']),
    pprofAccess: access('pprof-access', values['pprof-access']),
    pprofTimeoutMs: ms('pprof-timeout', values['pprof-timeout']),
    leaderElection: {
      enabled,
      namespace: values['leader-election-namespace'] || env.POD_NAMESPACE || 'memaudit-system',
      leaseName: values['leader-election-id'],
      identity,
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
    },
    shards,
    homeShard: homeShardOf(env.POD_NAME, shards),
    stateSyncPeriodMs: ms('state-sync-period', values['state-sync-period'], true),
    statusSyncPeriodMs: ms('status-sync-period', values['status-sync-period'], true),
    maxSamplesPerTarget: positiveInt('max-samples-per-target', values['max-samples-per-target']),
    maxTargetsPerAudit: positiveInt('max-targets-per-audit', values['max-targets-per-audit']),
    concurrentReconciles: positiveInt('concurrent-reconciles', values['concurrent-reconciles']),
    logLevel: values['log-level'],
    prometheus: prometheusConfig({
      url: values['prometheus-url'],
      bearerTokenFile: values['prometheus-bearer-token-file'],
      basicAuthFile: values['prometheus-basic-auth-file'],
      caFile: values['prometheus-ca-file'],
      insecure: values['prometheus-insecure-skip-tls-verify'],
      headers: values['prometheus-header'],
      selector: values['prometheus-selector'],
      timeout: values['prometheus-timeout'],
    }),
  };
}
