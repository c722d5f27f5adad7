import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ChildCgroup } from './cgroup.ts';
import type { NetNs } from './netns.ts';
import { freePort } from './ports.ts';
import { Proc, waitFor } from './process.ts';
import { app } from './tools.ts';

/**
 * A real Go audit target (test/apps, built by hack/build-apps.sh) running in a child memory
 * cgroup of its own, with net/http/pprof on a known port: the "container" of a test pod.
 */
export class Fixture {
  readonly name: string;
  readonly cgroup: ChildCgroup;
  readonly proc: Proc;
  readonly host: string;
  readonly pprofPort: number;
  readonly dir: string;

  private constructor(name: string, cgroup: ChildCgroup, proc: Proc, host: string, pprofPort: number, dir: string) {
    this.name = name;
    this.cgroup = cgroup;
    this.proc = proc;
    this.host = host;
    this.pprofPort = pprofPort;
    this.dir = dir;
  }

  /**
   * Starts `app` with `args` (plus -pprof HOST:PORT). In a network namespace, the program
   * listens on the namespace's address; otherwise on loopback.
   */
  static async start(name: string, appName: string, args: string[], options: { limitBytes?: number; netns?: NetNs; pprofPort?: number } = {}): Promise<Fixture> {
    const dir = await mkdtemp(path.join(os.tmpdir(), `memaudit-e2e-${name}-`));
    const cgroup = await ChildCgroup.create(`${name}-${path.basename(dir).slice(-6)}`, options.limitBytes);
    const host = options.netns ? options.netns.nsIp : '127.0.0.1';
    const pprofPort = options.pprofPort ?? (options.netns ? 6060 : await freePort());
    // Into the cgroup first, then (optionally) into the network namespace: same pid throughout.
    const [inNs, nsArgs] = options.netns ? options.netns.exec(app(appName), [...args, '-pprof', `${host}:${pprofPort}`]) : [app(appName), [...args, '-pprof', `${host}:${pprofPort}`]];
    const [file, argv] = cgroup.execArgs(inNs, nsArgs);
    const proc = new Proc(name, file, argv, path.join(dir, 'app.log'));
    const fx = new Fixture(name, cgroup, proc, host, pprofPort, dir);
    try {
      await waitFor(`${name} pprof on ${host}:${pprofPort}`, async () => {
        if (!proc.running) throw new Error(`${appName} exited: ${await proc.log()}`);
        // From the host, a namespace's address is reachable over the veth pair.
        const res = await fetch(`http://${host}:${pprofPort}/debug/pprof/`);
        return res.ok;
      }, 20_000);
    } catch (e) {
      await fx.stop();
      throw e;
    }
    return fx;
  }

  async stop(): Promise<void> {
    await this.proc.stop(5000);
    // The shell wrapper exec'd the program, so the cgroup empties when it exits.
    await this.cgroup.remove();
    await rm(this.dir, { recursive: true, force: true });
  }
}
