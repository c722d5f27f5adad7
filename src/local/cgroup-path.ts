// Where a process's memory cgroup lives, on cgroup v1 (a `memory` hierarchy of its own, as on
// hybrid hosts) or v2 (the unified hierarchy with the `memory` controller enabled).
//
// Everything is read below `root` (default "/"), so tests point it at a fixture tree that mirrors
// real paths: `ROOT/proc/self/cgroup`, `ROOT/proc/self/mountinfo`, `ROOT/sys/fs/cgroup/...`.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { EnvironmentError } from '../errors.ts';

export interface MemoryCgroup {
  version: 1 | 2;
  /** The cgroup's path inside its hierarchy, as /proc/PID/cgroup prints it ("/a/b"). */
  path: string;
  /** The directory of that cgroup (mount point + path, below `root`). */
  dir: string;
  /** Where the hierarchy is mounted (below `root`). */
  mountPoint: string;
}

export interface ProcCgroupLines {
  /** v1 hierarchies: controller (or "name=x") -> path. */
  v1: Map<string, string>;
  /** The unified (v2) hierarchy's path, the "0::" line. */
  v2: string | undefined;
}

/** Parses /proc/PID/cgroup: "ID:CONTROLLERS:PATH" lines; v2 is "0::PATH". */
export function parseProcCgroup(text: string): ProcCgroupLines {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const p = line.slice(second + 1);
    if (controllers === '') v2 = p;
    else for (const c of controllers.split(',')) v1.set(c, p);
  }
  return { v1, v2 };
}

export interface CgroupMount {
  version: 1 | 2;
  /** The path inside the hierarchy that is mounted here ("/" unless a container sees a subtree). */
  root: string;
  mountPoint: string;
  /** v1: the controllers of the hierarchy (super options); v2: empty. */
  controllers: string[];
}

/** Parses /proc/PID/mountinfo and keeps cgroup and cgroup2 mounts. */
export function parseCgroupMounts(text: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    // id parent maj:min root mountpoint options [optional...] - fstype source superoptions
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const fstype = right[0];
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const root = unescapeMountPath(left[3] ?? '/');
    const mountPoint = unescapeMountPath(left[4] ?? '');
    const superOptions = (right[2] ?? '').split(',');
    mounts.push({
      version: fstype === 'cgroup2' ? 2 : 1,
      root,
      mountPoint,
      controllers: fstype === 'cgroup' ? superOptions.filter((o) => o !== 'rw' && o !== 'ro') : [],
    });
  }
  return mounts;
}

/** mountinfo escapes space, tab, newline and backslash as octal (\040). */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export interface FindOptions {
  /** Filesystem root for fixtures; default "/". */
  root?: string;
  /** Whose cgroup: a pid or "self". */
  pid?: number | 'self';
}

/**
 * Finds the memory cgroup of a process: the v1 memory hierarchy when the process has a line for
 * it (hybrid hosts), else the unified hierarchy when it carries the memory controller.
 * Throws EnvironmentError with the reason when there is none.
 */
export async function findMemoryCgroup(options: FindOptions = {}): Promise<MemoryCgroup> {
  const root = options.root ?? '/';
  const pid = options.pid ?? 'self';
  const procDir = path.join(root, 'proc', String(pid));
  let cgroupText: string;
  let mountText: string;
  try {
    [cgroupText, mountText] = await Promise.all([readFile(path.join(procDir, 'cgroup'), 'utf8'), readFile(path.join(procDir, 'mountinfo'), 'utf8')]);
  } catch (cause) {
    throw new EnvironmentError(`cannot read ${procDir}/cgroup and mountinfo: ${errorText(cause)}`, { cause });
  }
  const lines = parseProcCgroup(cgroupText);
  const mounts = parseCgroupMounts(mountText);

  const v1Path = lines.v1.get('memory');
  if (v1Path !== undefined) {
    const mount = mounts.find((m) => m.version === 1 && m.controllers.includes('memory'));
    if (!mount) throw new EnvironmentError(`process ${pid} is in v1 memory cgroup ${v1Path}, but no cgroup v1 memory hierarchy is mounted here`);
    return locate(root, mount, v1Path, 1);
  }
  if (lines.v2 !== undefined) {
    const mount = mounts.find((m) => m.version === 2);
    if (!mount) throw new EnvironmentError(`process ${pid} is in cgroup v2 ${lines.v2}, but no cgroup2 filesystem is mounted here`);
    const controllers = await readControllers(path.join(root, mount.mountPoint, 'cgroup.controllers'));
    if (!controllers.includes('memory')) {
      throw new EnvironmentError(`no memory controller: the cgroup v2 hierarchy at ${mount.mountPoint} offers [${controllers.join(' ')}], and no cgroup v1 memory hierarchy holds this process`);
    }
    return locate(root, mount, lines.v2, 2);
  }
  throw new EnvironmentError(`process ${pid} is in no memory cgroup (no "memory" line and no cgroup v2 line in /proc/${pid}/cgroup)`);
}

function locate(root: string, mount: CgroupMount, cgroupPath: string, version: 1 | 2): MemoryCgroup {
  // A container that sees only a subtree has it mounted with root = that subtree; the path in
  // /proc/PID/cgroup is then either relative to the namespace ("/") or the full path.
  let rel = cgroupPath;
  if (mount.root !== '/' && (rel === mount.root || rel.startsWith(mount.root + '/'))) rel = rel.slice(mount.root.length) || '/';
  return { version, path: cgroupPath, dir: path.join(root, mount.mountPoint, rel), mountPoint: path.join(root, mount.mountPoint) };
}

export async function readControllers(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).split(/\s+/).filter((s) => s !== '');
  } catch {
    return [];
  }
}

/** Whether a cgroup is the top of its mounted hierarchy (the host root, or a namespace's root). */
export function isHierarchyRoot(cg: MemoryCgroup): boolean {
  return path.resolve(cg.dir) === path.resolve(cg.mountPoint);
}

export function errorText(e: unknown): string {
  if (e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string') {
    const err = e as NodeJS.ErrnoException;
    return `${err.code}${err.message ? ` (${err.message.replace(/^[A-Z]+: /, '')})` : ''}`;
  }
  return e instanceof Error ? e.message : String(e);
}
