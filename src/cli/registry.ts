import type { Command } from './command.ts';

export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<Command>;
}

/**
 * The command registry: one file per command, each exporting a Command, loaded only when it runs.
 * Loading every command up front cost ~75 MiB of RSS before any work (the controller's Kubernetes
 * client, dockerode), which `analyze` of a large recording does not need. A command registered
 * here gets --help, --version, --no-color, the usage-error format and shell completion from its
 * declared options (args.ts, completion.ts).
 */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'analyze', summary: 'analyse recorded samples (Docker stats, cgroup snapshots, Prometheus, heap profiles)', load: async () => (await import('./analyze.ts')).analyzeCommand },
  { name: 'scan', summary: 'audit every container of a cluster from Prometheus history (cAdvisor, kube-state-metrics)', load: async () => (await import('./scan.ts')).scanCommand },
  { name: 'run', summary: 'run a command in a memory cgroup of its own and tell page-cache growth from a leak', load: async () => (await import('./run.ts')).runCommand },
  { name: 'watch', summary: 'audit a running process or cgroup, read-only', load: async () => (await import('./watch.ts')).watchCommand },
  { name: 'docker', summary: 'audit a running Docker container or Compose service; --write-limit writes the limit into the Compose file', load: async () => (await import('./docker.ts')).dockerCommand },
  { name: 'controller', summary: 'run the MemoryAudit Kubernetes controller', load: async () => (await import('./controller.ts')).controllerCommand },
  { name: 'completion', summary: 'print the shell completion script for bash or zsh', load: async () => (await import('./completion.ts')).completionCommand },
  { name: 'version', summary: "print memaudit's version", load: async () => (await import('./version.ts')).versionCommand },
];
