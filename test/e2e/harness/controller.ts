import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from './ports.ts';
import { Proc, waitFor } from './process.ts';
import { NODE_BIN, REPO_ROOT } from './tools.ts';

/**
 * `memaudit controller` as its own process (the way it runs in a cluster), with its pino JSON log
 * in a file the tests read.
 */
export interface ControllerOptions {
  dir: string;
  name: string;
  kubeconfig: string;
  args?: string[];
}

export class ControllerProcess {
  readonly proc: Proc;
  readonly port: number;
  readonly name: string;

  private constructor(proc: Proc, port: number, name: string) {
    this.proc = proc;
    this.port = port;
    this.name = name;
  }

  static async start(o: ControllerOptions): Promise<ControllerProcess> {
    const port = await freePort();
    const kubeconfigFile = path.join(o.dir, `${o.name}.kubeconfig`);
    await writeFile(kubeconfigFile, o.kubeconfig);
    const args = [
      '--disable-warning=ExperimentalWarning',
      path.join(REPO_ROOT, 'src/cli/bin.ts'),
      'controller',
      `--kubeconfig=${kubeconfigFile}`,
      `--listen=127.0.0.1:${port}`,
      '--leader-election-namespace=memaudit-system',
      '--log-level=debug',
      ...(o.args ?? []),
    ];
    const proc = new Proc(o.name, NODE_BIN, args, path.join(o.dir, `${o.name}.log`), { ...process.env, POD_NAME: o.name });
    const c = new ControllerProcess(proc, port, o.name);
    await waitFor(`${o.name} /healthz`, async () => {
      if (!proc.running) throw new Error(`controller exited: ${(await proc.log()).slice(-3000)}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    }, 30_000);
    return c;
  }

  async metrics(): Promise<string> {
    return (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
  }

  async ready(): Promise<boolean> {
    return (await fetch(`http://127.0.0.1:${this.port}/readyz`)).ok;
  }

  async isLeader(): Promise<boolean> {
    return /^memaudit_leader 1$/m.test(await this.metrics());
  }

  /** Parsed pino lines of the controller's log. */
  async logLines(): Promise<Record<string, unknown>[]> {
    const text = await this.proc.log();
    return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  async stop(): Promise<void> {
    await this.proc.stop(15_000);
  }
}
