import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.ts';
import type { MemorySample } from '../model/sample.ts';
import type { ContainerKey, ContainerSample } from './cadvisor.ts';
import { containerKeyString } from './cadvisor.ts';

/**
 * kubelet `/stats/summary` (k8s.io/kubelet/pkg/apis/stats/v1alpha1 Summary) -> one MemorySample per
 * (namespace, pod, container), from `pods[].containers[].memory`:
 *
 *   usageBytes      -> usageBytes
 *   workingSetBytes -> workingSetBytes
 *   rssBytes        -> anonBytes: the kubelet fills it from cAdvisor's RSS, which is the cgroup's
 *                      anonymous memory (v1 total_rss, v2 anon), not a process RSS
 *   availableBytes  -> limitBytes = availableBytes + workingSetBytes; the kubelet only sets
 *                      availableBytes when the container has a limit (available = limit - working
 *                      set), so its absence means unlimited
 *   time            -> timestampMs
 * pageFaults / majorPageFaults are event counters, not sizes; MemorySample has no field for them.
 *
 * The summary has no cache/shmem/kernel breakdown: it can show that the working set grows, not why.
 */

export interface KubeletSummary {
  nodeName: string | undefined;
  containers: ContainerSample[];
  /** Containers listed without memory stats (starting, or the runtime did not report them). */
  withoutMemory: ContainerKey[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses the JSON text of a summary (a file, or the body of `GET /stats/summary`). */
export function parseKubeletSummaryText(text: string, source: string): KubeletSummary {
  if (text.trim() === '') throw new InputError(source, 'empty file: expected the JSON of the kubelet /stats/summary endpoint');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new InputError(source, `not JSON (${(cause as Error).message}): expected the JSON of the kubelet /stats/summary endpoint`, { cause });
  }
  return parseKubeletSummary(value, source);
}

/** Parses an already-decoded summary object. */
export function parseKubeletSummary(value: unknown, source: string): KubeletSummary {
  if (!isObj(value) || !Array.isArray(value.pods)) {
    throw new InputError(source, 'expected a kubelet /stats/summary object with a "pods" array (kubectl get --raw /api/v1/nodes/NODE/proxy/stats/summary)');
  }
  const nodeName = isObj(value.node) && typeof value.node.nodeName === 'string' ? value.node.nodeName : undefined;
  const containers: ContainerSample[] = [];
  const withoutMemory: ContainerKey[] = [];
  value.pods.forEach((pod: unknown, i: number) => {
    const where = `pods[${i}]`;
    if (!isObj(pod) || !isObj(pod.podRef)) throw new InputError(source, `${where}: expected an object with "podRef"`);
    const { name, namespace } = pod.podRef;
    if (typeof name !== 'string' || typeof namespace !== 'string') throw new InputError(source, `${where}.podRef: "name" and "namespace" must be strings`);
    const list = pod.containers ?? [];
    if (!Array.isArray(list)) throw new InputError(source, `${where}.containers must be an array`);
    list.forEach((c: unknown, j: number) => {
      const cw = `${where}.containers[${j}]`;
      if (!isObj(c) || typeof c.name !== 'string') throw new InputError(source, `${cw}: expected an object with a "name"`);
      const key: ContainerKey = { namespace, pod: name, container: c.name };
      const sample = c.memory === undefined ? undefined : sampleFromSummaryMemory(c.memory, source, `${cw}.memory`);
      if (sample) containers.push({ key, sample });
      else withoutMemory.push(key);
    });
  });
  containers.sort((a, b) => containerKeyString(a.key).localeCompare(containerKeyString(b.key)));
  return { nodeName, containers, withoutMemory };
}

/**
 * One `MemoryStats` object of the summary. Returns undefined when it has no usageBytes (the kubelet
 * omits the fields it could not read).
 */
export function sampleFromSummaryMemory(memory: unknown, source: string, where = 'memory'): MemorySample | undefined {
  if (!isObj(memory)) throw new InputError(source, `${where}: expected an object`);
  const bytes = (k: string): number | undefined => {
    const v = memory[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new InputError(source, `${where}.${k} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return v;
  };
  const usage = bytes('usageBytes');
  if (usage === undefined) return undefined;
  const time = memory.time;
  const timestampMs = typeof time === 'string' ? Date.parse(time) : NaN;
  if (!Number.isFinite(timestampMs)) throw new InputError(source, `${where}.time must be an RFC 3339 time, got ${JSON.stringify(time)}`);
  const sample: MemorySample = { timestampMs, usageBytes: usage };
  const ws = bytes('workingSetBytes');
  if (ws !== undefined) sample.workingSetBytes = ws;
  const rss = bytes('rssBytes');
  if (rss !== undefined) sample.anonBytes = rss;
  const available = bytes('availableBytes');
  if (available !== undefined && ws !== undefined) sample.limitBytes = available + ws;
  return sample;
}

/** Reads a saved summary (`kubectl get --raw /api/v1/nodes/NODE/proxy/stats/summary > file`). */
export async function readKubeletSummaryFile(path: string): Promise<KubeletSummary> {
  return parseKubeletSummaryText(await readFile(path, 'utf8'), path);
}
