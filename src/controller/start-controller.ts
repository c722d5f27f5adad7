// Wires the controller: informers on MemoryAudits and Pods (always running, so a standby has warm
// caches), a per-key queue and the reconciler that run only for the audits of the shards this
// replica leads (one shard, one Lease, by default), the probe server. Resolves when `signal`
// aborts and everything has stopped (evidence flushed, Leases released).
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { UsageError } from '../errors.ts';
import { audit as engine } from '../analysis/audit.ts';
import { KubeletReader } from '../sampling/kubelet.ts';
import { PodPprofReader } from '../sampling/pod-pprof.ts';
import { PrometheusClient } from '../sampling/prometheus.ts';
import { GROUP, PLURAL, VERSION, type MemoryAudit } from './api/v1alpha1.ts';
import { EvidenceStore } from './evidence-store.ts';
import { EventRecorder } from './reconcile/emit-events.ts';
import { Reconciler } from './reconcile/reconciler.ts';
import type { ControllerConfig } from './runtime/flags.ts';
import { InformerGroup } from './runtime/informer-group.ts';
import { LabelIndex } from './runtime/label-index.ts';
import { SupervisedInformer, type WatchedObject } from './runtime/informers.ts';
import { isNotFound } from './runtime/kube/api-error.ts';
import { KubeClient, loadKubeConfig } from './runtime/kube/client.ts';
import { selectorMatches } from './runtime/kube/selector.ts';
import { slimPod } from './runtime/kube/slim.ts';
import type { List, Pod } from './runtime/kube/types.ts';
import { ControllerMetrics } from './runtime/metrics.ts';
import { KeyedQueue } from './runtime/queue.ts';
import { ProbeServer } from './runtime/probe-server.ts';
import { ShardLeadership, shardOf } from './runtime/shards.ts';
import { UpdateFilter } from './runtime/update-filter.ts';

export interface RunningController {
  port: number;
  done: Promise<void>;
}

export async function startController(config: ControllerConfig, log: Logger, signal: AbortSignal): Promise<RunningController> {
  const kubeConfig = loadKubeConfig(config.kubeconfig);
  const client = await KubeClient.create(kubeConfig);
  const metrics = new ControllerMetrics();
  const kubelet = new KubeletReader({ api: client, isNotFound, config, observe: (ok, seconds) => metrics.observeFetch('kubelet', ok, seconds), log: log.child({ component: 'kubelet' }) });
  const pprof = new PodPprofReader({ api: client, config, observe: (ok, seconds) => metrics.observeFetch('pprof', ok, seconds) });
  const history = config.prometheus ? { client: prometheusClient(config.prometheus), selector: config.prometheus.selector } : null;
  const store = config.stateSyncPeriodMs > 0 ? new EvidenceStore(client, log.child({ component: 'state' })) : null;
  const leader = new ShardLeadership(client, config.leaderElection, log.child({ component: 'leader' }), {
    shards: config.shards,
    home: config.homeShard,
    onHeldChanged: (held) => {
      metrics.shardsHeld.set(held);
      metrics.leader.set(held > 0 ? 1 : 0);
    },
    onActingChanged: (acting) => metrics.shardsActing.set(acting),
  });
  const events = new EventRecorder(client, log.child({ component: 'events' }), config.leaderElection.identity);

  // One informer pair for all namespaces, or one per watched namespace (--namespace a,b).
  const nsPath = (ns: string) => (ns ? `/namespaces/${encodeURIComponent(ns)}` : '');
  const group = <T extends WatchedObject>(name: string, path: (ns: string) => string, slim?: (obj: T) => T): InformerGroup<T> => {
    const members = new Map<string, SupervisedInformer<T>>();
    for (const ns of config.namespaces.length ? config.namespaces : ['']) {
      const p = path(ns);
      members.set(ns, new SupervisedInformer<T>(name, kubeConfig, p, () => client.get<List<T>>(p), ns ? log.child({ namespace: ns }) : log, { slim }));
    }
    return new InformerGroup(name, members);
  };
  const audits = group<MemoryAudit>('memoryaudits', (ns) => `/apis/${GROUP}/${VERSION}${nsPath(ns)}/${PLURAL}`);
  // Pods as types.ts declares them, the rest dropped before the cache keeps them (kube/slim.ts).
  const pods = group<Pod>('pods', (ns) => `/api/v1${nsPath(ns)}/pods`, slimPod);
  for (const inf of [audits, pods]) inf.onRestart = (name) => metrics.informerRestarts.inc({ informer: name });
  // The pods an audit's selector can match (label-index.ts), kept before any other handler runs.
  const podIndex = new LabelIndex<Pod>();
  pods.on('add', (p) => podIndex.set(p));
  pods.on('update', (p) => podIndex.set(p));
  pods.on('delete', (p) => podIndex.delete(p));

  const reconciler = new Reconciler({
    client,
    config,
    log: log.child({ component: 'reconcile' }),
    metrics,
    kubelet,
    pprof,
    store,
    events,
    audits,
    pods: podIndex,
    isLeader: (key) => leader.owns(key),
    cachesSynced: () => audits.synced && pods.synced,
    engine,
    history,
  });

  let queue: KeyedQueue | undefined;
  const keyOf = (o: { metadata: { name: string; namespace?: string } }) => `${o.metadata.namespace}/${o.metadata.name}`;
  const enqueue = (key: string) => {
    if (leader.owns(key)) queue?.add(key);
  };
  const inShard = (shard: number) => (key: string) => shardOf(key, config.shards) === shard;
  const ownedAudits = () => audits.list().filter((a) => leader.owns(keyOf(a))).length;
  const newQueue = () => {
    const q = new KeyedQueue((key) => reconciler.reconcile(key), log.child({ component: 'queue' }), { retryInitialMs: 1000, retryMaxMs: 60_000, concurrency: config.concurrentReconciles });
    q.onResult = (_key, ok, ms) => {
      metrics.reconcileTotal.inc({ result: ok ? 'ok' : 'error' });
      metrics.reconcileDuration.observe(ms / 1000);
    };
    return q;
  };

  const podChanged = (p: Pod) => {
    for (const a of audits.list(p.metadata.namespace)) {
      if (selectorMatches(a.spec?.selector ?? {}, p.metadata.labels)) enqueue(keyOf(a));
    }
  };
  // An audit's own status writes come back as updates: only the others start a reconcile.
  const auditUpdates = new UpdateFilter();
  audits.on('add', (a) => auditUpdates.added(a) && enqueue(keyOf(a)));
  audits.on('update', (a) => auditUpdates.updated(a) && enqueue(keyOf(a)));
  audits.on('delete', (a) => auditUpdates.deleted(a) && enqueue(keyOf(a)));
  for (const verb of ['add', 'update', 'delete'] as const) pods.on(verb, podChanged);

  const server = new ProbeServer({
    metrics,
    notReady: () => {
      const unsynced = [audits, pods].filter((i) => !i.synced).map((i) => i.name);
      return unsynced.length > 0 ? `informers not synced: ${unsynced.join(', ')}` : null;
    },
  });
  const port = await server.listen(config.listen.host, config.listen.port);
  log.info({ port, identity: leader.identity, shards: config.shards, homeShard: config.homeShard, kubeletAccess: config.kubeletAccess, pprofAccess: config.pprofAccess, backfillFrom: history?.client.url ?? null }, 'Controller listening');

  await Promise.all([audits.start(), pods.start()]);
  leader.start({
    onShardGained: (shard) => {
      // Each audit of the shard starts with restoreEvidence: the evidence its last owner saved,
      // never what this replica kept from an earlier time it held the shard.
      reconciler.release(inShard(shard));
      queue ??= newQueue();
      const keys = audits.list().map(keyOf).filter(inShard(shard));
      for (const key of keys) queue.add(key);
      metrics.audits.set(ownedAudits());
      log.info({ shard, shards: config.shards, audits: keys.length }, 'Shard gained');
    },
    onShardLost: async (shard) => {
      // Handing the shard over, the Lease is still ours: save first. Lost, it is not: skipped.
      await reconciler.flushAll(inShard(shard), (key) => leader.holdsLease(shardOf(key, config.shards)));
      if (leader.held === 0) {
        const q = queue;
        queue = undefined;
        await q?.stop();
        reconciler.reset();
      } else {
        // Queued audits of the shard find it gone at their next run and drop out of the queue.
        reconciler.release(inShard(shard));
      }
      metrics.audits.set(ownedAudits());
      if (config.shards > 1) log.info({ shard, shards: config.shards }, 'Shard lost');
    },
  });
  // Audits that arrive later are enqueued by the handlers; keep the gauge fresh.
  const gauge = setInterval(() => metrics.audits.set(ownedAudits()), 10_000);

  const done = new Promise<void>((resolve) => {
    const shutdown = async () => {
      clearInterval(gauge);
      log.info('Shutting down');
      const q = queue;
      queue = undefined;
      await q?.stop();
      await reconciler.flushAll();
      await leader.stop();
      await Promise.all([audits.stop(), pods.stop()]);
      history?.client.close();
      client.close();
      await server.close();
      log.info('Stopped');
      resolve();
    };
    if (signal.aborted) void shutdown();
    else signal.addEventListener('abort', () => void shutdown(), { once: true });
  });
  return { port, done };
}

/** The client of --prometheus-url: two queries at a time are enough for a few new audits a round. */
function prometheusClient(p: NonNullable<ControllerConfig['prometheus']>): PrometheusClient {
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`--prometheus-${flag}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
  };
  let basicAuth: { username: string; password: string } | undefined;
  if (p.basicAuthFile) {
    const text = read('basic-auth-file', p.basicAuthFile).trim();
    const i = text.indexOf(':');
    if (i < 1) throw new UsageError(`--prometheus-basic-auth-file: ${p.basicAuthFile} must hold USER:PASSWORD`);
    basicAuth = { username: text.slice(0, i), password: text.slice(i + 1) };
  }
  if (p.caFile) read('ca-file', p.caFile);
  return new PrometheusClient({ url: p.url, bearerTokenFile: p.bearerTokenFile ?? undefined, basicAuth, headers: p.headers, caFile: p.caFile ?? undefined, insecureSkipTlsVerify: p.insecureSkipTlsVerify, timeoutMs: p.timeoutMs, concurrency: 2 });
}
