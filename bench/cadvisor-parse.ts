/**
 * How fast a kubelet's /metrics/cadvisor is read: the byte scanner of src/sources/cadvisor.ts
 * (scanCadvisorMetrics, with the controller's selection of containers, and without one) against
 * the text parser it replaced (test/helpers/cadvisor-reference.ts: the body decoded to a string,
 * every line of the memory families parsed into an object), on generated node bodies of a
 * 100-node fleet of 20,000 containers (test/e2e/harness/generated-cadvisor.ts: every cAdvisor
 * family a kubelet serves, pod cgroups and pause containers, 100 pods of two containers per node).
 * Runs interleaved; MB/s is body bytes over wall time, the median of the runs.
 */
import { ContainerSelection, scanCadvisorMetrics, type ContainerKey } from '../src/sources/cadvisor.ts';
import { generatePods, NodeScrape } from '../test/e2e/harness/generated-cadvisor.ts';
import { referenceParseCadvisor } from '../test/helpers/cadvisor-reference.ts';
import { timing, type Timing } from './measure.ts';

export interface ParseFigures {
  nodesMeasured: number;
  bytesPerNode: number;
  linesPerNode: number;
  containersPerNode: number;
  /** MB/s (10^6 bytes), median and spread over the runs. */
  textParserMBps: Timing;
  scannerSelectedMBps: Timing;
  scannerAllMBps: Timing;
  speedupSelected: number;
  /** CPU of reading every node's body once, for the whole 100-node fleet (ms), at the median speed. */
  fleetRoundMs: { textParser: number; scannerSelected: number };
}

export function cadvisorParseBench(nodes: number, runs: number, fleetNodes = 100): ParseFigures {
  const bodies: Buffer[] = [];
  const keys: ContainerKey[] = [];
  const t = Date.UTC(2026, 10, 30, 12);
  for (let n = 0; n < nodes; n++) {
    const pods = generatePods(`web-n${n}`, 'shop', 100, 2, n * 100);
    for (const p of pods) for (const c of p.containers) keys.push({ namespace: p.namespace, pod: p.name, container: c.name });
    bodies.push(new NodeScrape(pods).body(t));
  }
  const select = new ContainerSelection(keys);
  const bytes = bodies.reduce((a, b) => a + b.length, 0);
  const mbps = (ms: number) => bytes / 1e6 / (ms / 1000);
  const text: number[] = [];
  const selected: number[] = [];
  const all: number[] = [];
  let check = 0;
  // One warm-up round (JIT), then measured rounds, the three readers interleaved.
  for (let r = 0; r <= runs; r++) {
    let t0 = performance.now();
    for (const b of bodies) check += referenceParseCadvisor(b.toString('utf8'), t).containers.length;
    const a = performance.now() - t0;
    t0 = performance.now();
    for (const b of bodies) check += scanCadvisorMetrics(b, { source: 'bench', scrapeTimeMs: t, select }).containers.length;
    const s = performance.now() - t0;
    t0 = performance.now();
    for (const b of bodies) check += scanCadvisorMetrics(b, { source: 'bench', scrapeTimeMs: t }).containers.length;
    const l = performance.now() - t0;
    if (r === 0) continue;
    text.push(mbps(a));
    selected.push(mbps(s));
    all.push(mbps(l));
  }
  if (check !== 3 * (runs + 1) * keys.length) throw new Error(`cadvisor bench: ${check} samples read, expected ${3 * (runs + 1) * keys.length}`);
  const textParserMBps = timing(text);
  const scannerSelectedMBps = timing(selected);
  const perNode = bytes / nodes;
  return {
    nodesMeasured: nodes,
    bytesPerNode: Math.round(perNode),
    linesPerNode: Math.round(bodies.reduce((a, b) => a + countLines(b), 0) / nodes),
    containersPerNode: keys.length / nodes,
    textParserMBps,
    scannerSelectedMBps,
    scannerAllMBps: timing(all),
    speedupSelected: Math.round((scannerSelectedMBps.median / textParserMBps.median) * 100) / 100,
    fleetRoundMs: { textParser: Math.round((fleetNodes * perNode) / 1e3 / textParserMBps.median), scannerSelected: Math.round((fleetNodes * perNode) / 1e3 / scannerSelectedMBps.median) },
  };
}

function countLines(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
  return n;
}
