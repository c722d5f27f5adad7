import path from 'node:path';
import { isInputError } from '../../../src/errors.ts';
import { findContainerSample, isNoData } from '../../../src/sources/cadvisor.ts';
import { parseKubeletSummary, parseKubeletSummaryText, readKubeletSummaryFile } from '../../../src/sources/kubelet-summary.ts';

const FIXTURE = path.join(import.meta.dirname, '../../fixtures/kubelet/stats-summary-minikube.json');

describe('kubelet /stats/summary, real minikube capture', () => {
  it('yields one sample per container with the container memory time', async () => {
    const s = await readKubeletSummaryFile(FIXTURE);
    expect(s.nodeName).toBe('minikube');
    expect(s.containers.map((c) => `${c.key.namespace}/${c.key.pod}/${c.key.container}`)).toEqual([
      'default/go-hello-world-5456b4b8cd-99vxc/server',
      'kube-system/coredns-66bff467f8-szddj/coredns',
      'kube-system/kube-apiserver-minikube/kube-apiserver',
      'kube-system/kube-scheduler-minikube/kube-scheduler',
    ]);
    const server = findContainerSample(s.containers, { namespace: 'default', pod: 'go-hello-world-5456b4b8cd-99vxc', container: 'server' });
    expect(server).toEqual({
      timestampMs: Date.UTC(2020, 3, 20, 22, 52, 23),
      usageBytes: 25088000,
      workingSetBytes: 25083904,
      anonBytes: 23523328, // rssBytes is the cgroup's anonymous memory
    });
  });

  it('derives the limit from availableBytes + workingSetBytes, and leaves it unknown without availableBytes', async () => {
    const s = await readKubeletSummaryFile(FIXTURE);
    const dns = findContainerSample(s.containers, { namespace: 'kube-system', pod: 'coredns-66bff467f8-szddj', container: 'coredns' });
    // 172007424 available + 6250496 working set = 178257920 = 170 Mi, coredns' default limit
    expect(dns).toMatchObject({ limitBytes: 170 * 1024 * 1024 });
    const api = findContainerSample(s.containers, { namespace: 'kube-system', pod: 'kube-apiserver-minikube', container: 'kube-apiserver' });
    expect(isNoData(api)).toBe(false);
    expect((api as { limitBytes?: number }).limitBytes).toBeUndefined();
  });

  it('returns NoData for a container that is not on the node', async () => {
    const s = await readKubeletSummaryFile(FIXTURE);
    expect(isNoData(findContainerSample(s.containers, { namespace: 'default', pod: 'nope', container: 'x' }))).toBe(true);
  });
});

describe('kubelet summary input errors', () => {
  it('lists containers without memory stats instead of failing', () => {
    const s = parseKubeletSummary({ pods: [{ podRef: { name: 'p', namespace: 'n' }, containers: [{ name: 'c' }, { name: 'd', memory: { time: '2024-01-01T00:00:00Z' } }] }] }, 't');
    expect(s.containers).toEqual([]);
    expect(s.withoutMemory).toEqual([
      { namespace: 'n', pod: 'p', container: 'c' },
      { namespace: 'n', pod: 'p', container: 'd' },
    ]);
  });

  it('rejects empty, non-JSON and non-summary input with the source named', () => {
    expect(() => parseKubeletSummaryText('', 'summary.json')).toThrow(/^summary\.json: empty file/);
    expect(() => parseKubeletSummaryText('<html>', 'summary.json')).toThrow(/^summary\.json: not JSON/);
    expect(() => parseKubeletSummaryText('{"items":[]}', 'summary.json')).toThrow(/"pods" array/);
    try {
      parseKubeletSummary({ pods: [{ podRef: { name: 'p', namespace: 'n' }, containers: [{ name: 'c', memory: { time: 'x', usageBytes: -1 } }] }] }, 's.json');
      throw new Error('no error');
    } catch (e) {
      expect(isInputError(e)).toBe(true);
      expect((e as Error).message).toBe('s.json: pods[0].containers[0].memory.usageBytes must be a non-negative integer, got -1');
    }
  });
});
