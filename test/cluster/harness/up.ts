// Starts the test cluster by hand and keeps it until Ctrl-C (for debugging the suite):
//   export "$(hack/dockerd.sh env)"; node_modules/.bin/node test/cluster/harness/up.ts
// Prints the admin kubeconfig; MEMAUDIT_E2E_KEEP=1 keeps the logs after it stops.
import { RealCluster } from './cluster.ts';

const started = Date.now();
const cluster = await RealCluster.start();
process.stdout.write(`cluster up in ${Math.round((Date.now() - started) / 1000)} s ${JSON.stringify(cluster.timings)}\n`);
process.stdout.write(`export KUBECONFIG=${cluster.cp.kubeconfigPath}\nnode dir: ${cluster.node!.dir}\ncontainerd: ctr --address ${cluster.node!.containerdAddress} -n k8s.io\n`);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await cluster.stop();
  process.stdout.write('stopped\n');
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
setInterval(() => undefined, 1 << 30);
