import path from 'node:path';
import type { CgroupFs } from '../../../src/local/cgroup-fs.ts';

/**
 * An in-memory cgroup2 hierarchy that enforces the kernel rules the runner depends on
 * (Documentation/admin-guide/cgroup-v2.rst), for the v2 path, which this project's machines
 * cannot run (their memory controller is bound to cgroup v1):
 *   - a child's cgroup.controllers is its parent's cgroup.subtree_control;
 *   - "+memory" in cgroup.subtree_control needs memory in cgroup.controllers (else ENOENT) and,
 *     below the root, no process in the cgroup ("no internal processes": EBUSY);
 *   - a process cannot move into a non-root cgroup that delegates controllers (EBUSY);
 *   - "-memory" fails while a child still delegates memory (EBUSY);
 *   - rmdir fails while the cgroup holds processes or children (EBUSY).
 */
interface Node {
  procs: Set<number>;
  subtree: Set<string>;
  children: Map<string, Node>;
  parent: Node | null;
}

const err = (code: string, what: string) => Object.assign(new Error(`${code}: ${what}`), { code });

export class Cgroup2Sim implements CgroupFs {
  readonly mount: string;
  readonly root: Node;
  readonly rootControllers: string[];
  /** Every write, in order, for assertions. */
  readonly writes: string[] = [];

  constructor(mount: string, rootControllers = ['cpu', 'io', 'memory', 'pids']) {
    this.mount = mount;
    this.rootControllers = rootControllers;
    this.root = { procs: new Set(), subtree: new Set(), children: new Map(), parent: null };
  }

  /** Creates a cgroup path ("/a/b") with delegation along the way, and puts pids in it. */
  setup(cgPath: string, pids: number[], delegate: string[] = ['memory']): void {
    let node = this.root;
    for (const part of cgPath.split('/').filter(Boolean)) {
      for (const c of delegate) node.subtree.add(c);
      let next = node.children.get(part);
      if (!next) node.children.set(part, (next = { procs: new Set(), subtree: new Set(), children: new Map(), parent: node }));
      node = next;
    }
    for (const p of pids) this.#move(p, node);
  }

  node(dir: string): Node | undefined {
    const rel = path.relative(this.mount, dir);
    if (rel.startsWith('..')) return undefined;
    let node: Node | undefined = this.root;
    for (const part of rel.split('/').filter(Boolean)) node = node?.children.get(part);
    return node;
  }

  #controllers(n: Node): string[] {
    return n.parent ? [...n.parent.subtree] : this.rootControllers;
  }

  #move(pid: number, to: Node): void {
    const stack = [this.root];
    while (stack.length) {
      const n = stack.pop()!;
      n.procs.delete(pid);
      stack.push(...n.children.values());
    }
    to.procs.add(pid);
  }

  #split(file: string): { node: Node; name: string } {
    const node = this.node(path.dirname(file));
    if (!node) throw err('ENOENT', file);
    return { node, name: path.basename(file) };
  }

  async readFile(file: string): Promise<string> {
    return this.readFileSync(file);
  }

  readFileSync(file: string): string {
    const { node, name } = this.#split(file);
    if (name === 'cgroup.procs') return [...node.procs].map((p) => `${p}\n`).join('');
    if (name === 'cgroup.controllers') return this.#controllers(node).join(' ') + '\n';
    if (name === 'cgroup.subtree_control') return [...node.subtree].join(' ') + '\n';
    if (name === 'memory.max') return 'max\n';
    if (name === 'memory.events') return 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n';
    throw err('ENOENT', file);
  }

  async writeFile(file: string, data: string): Promise<void> {
    this.writes.push(`${path.relative(this.mount, file)} < ${data}`);
    const { node, name } = this.#split(file);
    if (name === 'cgroup.procs') {
      if (node !== this.root && node.subtree.size > 0) throw err('EBUSY', `${file}: the cgroup delegates controllers`);
      this.#move(Number(data), node);
      return;
    }
    if (name === 'cgroup.subtree_control') {
      const m = /^([+-])(\w+)$/.exec(data.trim());
      if (!m) throw err('EINVAL', file);
      const c = m[2]!;
      if (m[1] === '+') {
        if (!this.#controllers(node).includes(c)) throw err('ENOENT', `${c} not available`);
        if (node !== this.root && node.procs.size > 0) throw err('EBUSY', `${file}: the cgroup has processes`);
        node.subtree.add(c);
      } else {
        if ([...node.children.values()].some((ch) => ch.subtree.has(c))) throw err('EBUSY', `${file}: a child delegates ${c}`);
        node.subtree.delete(c);
      }
      return;
    }
    if (name === 'memory.max') {
      if (!this.#controllers(node).includes('memory')) throw err('ENOENT', file);
      return;
    }
    throw err('EACCES', file);
  }

  async mkdir(dir: string): Promise<void> {
    const parent = this.node(path.dirname(dir));
    if (!parent) throw err('ENOENT', dir);
    const name = path.basename(dir);
    if (parent.children.has(name)) throw err('EEXIST', dir);
    parent.children.set(name, { procs: new Set(), subtree: new Set(), children: new Map(), parent });
  }

  async rmdir(dir: string): Promise<void> {
    this.rmdirSync(dir);
  }

  rmdirSync(dir: string): void {
    const node = this.node(dir);
    if (!node || !node.parent) throw err('ENOENT', dir);
    if (node.procs.size > 0 || node.children.size > 0) throw err('EBUSY', dir);
    node.parent.children.delete(path.basename(dir));
  }

  async readdir(dir: string): Promise<string[]> {
    const node = this.node(dir);
    if (!node) throw err('ENOENT', dir);
    return [...node.children.keys()];
  }

  async exists(file: string): Promise<boolean> {
    try {
      this.readFileSync(file);
      return true;
    } catch {
      return this.node(file) !== undefined;
    }
  }

  /** Simulated processes die at once when killed. */
  kill(pid: number, signal: NodeJS.Signals): boolean {
    if (signal !== 'SIGKILL') return true;
    const stack = [this.root];
    let found = false;
    while (stack.length) {
      const n = stack.pop()!;
      if (n.procs.delete(pid)) found = true;
      stack.push(...n.children.values());
    }
    return found;
  }
}
