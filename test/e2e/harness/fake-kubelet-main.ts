// A FakeKubelet as its own process, for a kubelet that must live in a network namespace:
//   node fake-kubelet-main.ts CONFIG.json
// CONFIG: { host, port, certFile, keyFile, caFile, containers: KubeletContainer[] }
import { readFile } from 'node:fs/promises';
import { FakeKubelet } from './fake-kubelet.ts';
import type { KubeletContainer } from './fake-kubelet.ts';

const config = JSON.parse(await readFile(process.argv[2]!, 'utf8')) as { host: string; port: number; certFile: string; keyFile: string; caFile: string; containers: KubeletContainer[] };
const kubelet = new FakeKubelet({
  host: config.host,
  port: config.port,
  tls: { cert: await readFile(config.certFile), key: await readFile(config.keyFile), ca: await readFile(config.caFile) },
  containers: () => config.containers,
});
await kubelet.listen();
process.stdout.write(`fake kubelet on https://${config.host}:${kubelet.port}\n`);
process.once('SIGTERM', () => void kubelet.close().then(() => process.exit(0)));
