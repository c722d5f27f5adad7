// Where the Docker daemon listens, as DOCKER_HOST or `--host` spell it, and a connected client.
//
//   unix:///var/run/docker.sock     (the default, as for the docker CLI)
//   tcp://host:2375, http://host:2375, https://host:2376
//
// dockerode would read DOCKER_HOST itself when given no options; it always gets explicit ones here,
// so the environment is read in one place (src/config.ts).
import Docker from 'dockerode';
import { EnvironmentError, UsageError } from '../errors.ts';
import { describeError } from '../sampling/docker-stats.ts';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

export interface DockerEndpoint {
  /** As given (or the default), for messages. */
  url: string;
  options: Docker.DockerOptions;
}

export function dockerEndpoint(given: string | undefined): DockerEndpoint {
  const url = given === undefined || given.trim() === '' ? DEFAULT_DOCKER_HOST : given.trim();
  const unix = /^unix:\/\/(\/.+)$/.exec(url);
  if (unix) return { url, options: { socketPath: unix[1]! } };
  if (url.startsWith('/')) return { url: `unix://${url}`, options: { socketPath: url } };
  const net = /^(tcp|http|https):\/\/([^/:]+|\[[^\]]+\])(?::(\d+))?\/?$/.exec(url);
  if (net) {
    const protocol = net[1] === 'https' ? 'https' : 'http';
    return { url, options: { host: net[2]!.replace(/^\[|\]$/g, ''), port: Number(net[3] ?? (protocol === 'https' ? 2376 : 2375)), protocol } };
  }
  throw new UsageError(`docker: unsupported Docker endpoint ${JSON.stringify(url)}: expected unix:///path/to/docker.sock or tcp://host:port (from --host or DOCKER_HOST)`);
}

export interface DaemonInfo {
  /** The host's total memory (GET /info MemTotal): Docker's stand-in for "no limit" in the stats. */
  memTotalBytes: number | undefined;
  serverVersion: string | undefined;
  cgroupVersion: string | undefined;
}

export interface ConnectedDocker {
  docker: Docker;
  endpoint: DockerEndpoint;
  info: DaemonInfo;
}

/**
 * A client that has answered GET /info. An unreachable daemon is one EnvironmentError naming the
 * endpoint (exit 69), not a stack trace.
 */
export async function connectDocker(endpoint: DockerEndpoint, timeoutMs = 10_000): Promise<ConnectedDocker> {
  const docker = new Docker(endpoint.options);
  let info: Record<string, unknown>;
  try {
    info = (await withTimeout(docker.info() as Promise<Record<string, unknown>>, timeoutMs, `no answer within ${timeoutMs / 1000} s`)) ?? {};
  } catch (cause) {
    throw new EnvironmentError(`cannot reach the Docker daemon at ${endpoint.url}: ${describeError(cause)} (is dockerd running? set DOCKER_HOST or --host)`, { cause });
  }
  return {
    docker,
    endpoint,
    info: {
      memTotalBytes: typeof info.MemTotal === 'number' && info.MemTotal > 0 ? info.MemTotal : undefined,
      serverVersion: typeof info.ServerVersion === 'string' ? info.ServerVersion : undefined,
      cgroupVersion: typeof info.CgroupVersion === 'string' ? info.CgroupVersion : undefined,
    },
  };
}

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
