import { mustRun, run } from './exec.ts';

/**
 * A network namespace joined to the host by a veth pair, so a process in it has a non-loopback
 * address the API server agrees to proxy to (it refuses loopback and link-local). Removed by
 * remove(); names carry our pid so parallel test workers never collide.
 */
let counter = 0;

export class NetNs {
  readonly name: string;
  readonly hostIf: string;
  readonly nsIf: string;
  readonly hostIp: string;
  readonly nsIp: string;

  private constructor(id: string, subnet: number) {
    this.name = `ma-e2e-${id}`;
    this.hostIf = `vh${id}`;
    this.nsIf = `vn${id}`;
    this.hostIp = `10.213.${subnet}.1`;
    this.nsIp = `10.213.${subnet}.2`;
  }

  static async create(): Promise<NetNs> {
    counter++;
    const id = `${process.pid % 100000}${counter}`;
    const ns = new NetNs(id, (process.pid * 7 + counter) % 250);
    await mustRun('ip', ['netns', 'add', ns.name]);
    try {
      await mustRun('ip', ['link', 'add', ns.hostIf, 'type', 'veth', 'peer', 'name', ns.nsIf]);
      await mustRun('ip', ['link', 'set', ns.nsIf, 'netns', ns.name]);
      await mustRun('ip', ['addr', 'add', `${ns.hostIp}/24`, 'dev', ns.hostIf]);
      await mustRun('ip', ['link', 'set', ns.hostIf, 'up']);
      await mustRun('ip', ['netns', 'exec', ns.name, 'ip', 'addr', 'add', `${ns.nsIp}/24`, 'dev', ns.nsIf]);
      await mustRun('ip', ['netns', 'exec', ns.name, 'ip', 'link', 'set', ns.nsIf, 'up']);
      await mustRun('ip', ['netns', 'exec', ns.name, 'ip', 'link', 'set', 'lo', 'up']);
    } catch (e) {
      await ns.remove();
      throw e;
    }
    return ns;
  }

  /**
   * argv that runs a program inside the namespace. nsenter, not `ip netns exec`: the latter also
   * remounts /sys, which hides the cgroup hierarchy the fixtures and the fake kubelet use.
   */
  exec(file: string, args: string[]): [string, string[]] {
    return ['nsenter', [`--net=/var/run/netns/${this.name}`, '--', file, ...args]];
  }

  async remove(): Promise<void> {
    await run('ip', ['netns', 'del', this.name]);
    await run('ip', ['link', 'del', this.hostIf]);
  }
}
