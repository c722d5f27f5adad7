import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';

/**
 * The few file operations the cgroup runner makes, behind an interface so the cgroup v2 path
 * (which this project's machines cannot run: their memory controller is on v1) is exercised on a
 * fixture tree whose behaviour follows the kernel's rules (EBUSY on an internal process, and so on).
 */
export interface CgroupFs {
  readFile(file: string): Promise<string>;
  writeFile(file: string, data: string): Promise<void>;
  mkdir(dir: string): Promise<void>;
  rmdir(dir: string): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  exists(file: string): Promise<boolean>;
  /** Synchronous forms, for the last-resort cleanup on process exit. */
  readFileSync(file: string): string;
  rmdirSync(dir: string): void;
  /** Sends a signal; false when the process is gone. */
  kill(pid: number, signal: NodeJS.Signals): boolean;
}

export const kernelCgroupFs: CgroupFs = {
  readFile: (file) => fsp.readFile(file, 'utf8'),
  // cgroup files take one value per write(2); writeFile issues exactly one for short strings.
  writeFile: (file, data) => fsp.writeFile(file, data),
  mkdir: async (dir) => {
    await fsp.mkdir(dir);
  },
  rmdir: (dir) => fsp.rmdir(dir),
  readdir: async (dir) => (await fsp.readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name),
  exists: async (file) => {
    try {
      await fsp.access(file);
      return true;
    } catch {
      return false;
    }
  },
  readFileSync: (file) => fs.readFileSync(file, 'utf8'),
  rmdirSync: (dir) => fs.rmdirSync(dir),
  kill: (pid, signal) => {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  },
};
