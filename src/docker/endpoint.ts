// Where the Docker daemon listens and a connected client. docker-modem (under dockerode) reads the
// endpoint as the docker CLI does, and memaudit leaves that to it:
//
//   unix:///var/run/docker.sock          the default
//   tcp://host:2375                      plain HTTP
//   tcp://host:2376, or DOCKER_TLS_VERIFY=1
//                                        TLS: the daemon verified with $DOCKER_CERT_PATH/ca.pem,
//                                        memaudit known to it by cert.pem and key.pem there
//   ssh://user@host[:port]               `docker system dial-stdio` over ssh, keys from $SSH_AUTH_SOCK
//
// docker-modem reads these from process.env in its constructor only; memaudit reads its
// environment once (src/config.ts) and hands the values (and `--host`) over for that call.
import Docker from 'dockerode';
import { withEnvironment, type Environment } from '../config.ts';
import { EnvironmentError, UsageError } from '../errors.ts';
import { describeError } from '../sampling/docker-stats.ts';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

export type DockerEnvironment = Pick<Environment, 'DOCKER_HOST' | 'DOCKER_TLS_VERIFY' | 'DOCKER_CERT_PATH' | 'SSH_AUTH_SOCK'>;

export interface DockerEndpoint {
  /** As given (or the default), for messages and the JSON report. */
  url: string;
  /** How it is reached: unix socket, plain HTTP, TLS, or ssh. */
  transport: 'unix' | 'http' | 'tls' | 'ssh';
  /** DOCKER_CERT_PATH, when TLS. */
  certPath: string | undefined;
  /** docker-modem's environment for this endpoint. */
  modemEnvironment: Record<string, string | undefined>;
}

/**
 * The endpoint of `--host` (or DOCKER_HOST) with the TLS and ssh settings of `env`. Only the
 * scheme is checked here (a typo is a usage error before anything is asked); docker-modem reads
 * the rest.
 */
export function dockerEndpoint(host: string | undefined, env: DockerEnvironment = { DOCKER_HOST: undefined, DOCKER_TLS_VERIFY: undefined, DOCKER_CERT_PATH: undefined, SSH_AUTH_SOCK: undefined }): DockerEndpoint {
  const url = host === undefined || host.trim() === '' ? DEFAULT_DOCKER_HOST : host.trim();
  const scheme = /^([a-z]+):\/\/./.exec(url)?.[1];
  if (scheme !== 'unix' && scheme !== 'tcp' && scheme !== 'ssh') {
    throw new UsageError(`unsupported Docker endpoint ${JSON.stringify(url)}: expected unix:///path/to/docker.sock, tcp://host:port or ssh://user@host (from --host or DOCKER_HOST)`);
  }
  const tls = scheme === 'tcp' && (env.DOCKER_TLS_VERIFY === '1' || /:2376\/?$/.test(url));
  const transport = scheme === 'unix' ? 'unix' : scheme === 'ssh' ? 'ssh' : tls ? 'tls' : 'http';
  return {
    url,
    transport,
    certPath: tls ? env.DOCKER_CERT_PATH : undefined,
    // Only what applies to the scheme (docker-modem would speak https to an ssh:// host under DOCKER_TLS_VERIFY=1).
    modemEnvironment: {
      DOCKER_HOST: url,
      DOCKER_TLS_VERIFY: scheme === 'tcp' ? env.DOCKER_TLS_VERIFY : undefined,
      DOCKER_CERT_PATH: scheme === 'tcp' ? env.DOCKER_CERT_PATH : undefined,
      SSH_AUTH_SOCK: scheme === 'ssh' ? env.SSH_AUTH_SOCK : undefined,
      DOCKER_PATH_PREFIX: undefined,
      DOCKER_CLIENT_TIMEOUT: undefined,
    },
  };
}

/** The client docker-modem builds for the endpoint: its own reading of DOCKER_HOST and the TLS files. */
export function dockerClient(endpoint: DockerEndpoint): Docker {
  try {
    return withEnvironment(endpoint.modemEnvironment, () => new Docker());
  } catch (cause) {
    // docker-modem reads ca.pem, cert.pem and key.pem from DOCKER_CERT_PATH as it starts.
    throw new EnvironmentError(`cannot use the TLS files for ${endpoint.url} (DOCKER_CERT_PATH=${endpoint.certPath ?? ''}, which must hold ca.pem, cert.pem and key.pem): ${describeError(cause).replace(/^Error: /, '')}`, { cause });
  }
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
 * A client that has answered GET /info. An unreachable daemon, or one that refuses us, is one
 * EnvironmentError naming the endpoint and what to check (exit 69), not a stack trace.
 */
export async function connectDocker(endpoint: DockerEndpoint, timeoutMs = 10_000): Promise<ConnectedDocker> {
  const docker = dockerClient(endpoint);
  let info: Record<string, unknown>;
  try {
    info = (await withTimeout(docker.info() as Promise<Record<string, unknown>>, timeoutMs, `no answer within ${timeoutMs / 1000} s`)) ?? {};
  } catch (cause) {
    throw new EnvironmentError(`cannot reach the Docker daemon at ${endpoint.url}${endpoint.transport === 'tls' ? ' over TLS' : ''}: ${describeConnectError(cause)} (${hint(endpoint, cause)})`, { cause });
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

/** The TLS alert the daemon sent ("bad certificate", "certificate required"), from OpenSSL's message. */
const tlsAlert = (cause: unknown): string | undefined => /alert ([a-z ]+?)(?::|$)/.exec(String((cause as { message?: unknown }).message ?? ''))?.[1];

/**
 * OpenSSL's messages are one long line of internals: a TLS alert is said in its own words. Node's
 * advice on a certificate it cannot verify (--use-system-ca) does not apply to a daemon's own CA,
 * and the body of a daemon's refusal ("Client sent an HTTP request to an HTTPS server.") is kept.
 */
function describeConnectError(cause: unknown): string {
  const alert = tlsAlert(cause);
  if (alert) return `the daemon ended the TLS handshake: ${alert}`;
  const said = describeError(cause).replace(/; if the root CA is installed locally.*$/, '');
  // docker-modem hands a body that is not JSON over as it came: a string or a Buffer.
  const raw = (cause as { json?: unknown }).json;
  const body = (typeof raw === 'string' ? raw : Buffer.isBuffer(raw) ? raw.toString('utf8') : '').trim();
  return body !== '' && !said.includes(body) ? `${said}: ${body}` : said;
}

/** What to check, from how the connection failed. */
function hint(endpoint: DockerEndpoint, cause: unknown): string {
  const e = cause as { code?: unknown; message?: unknown; json?: unknown };
  const text = `${String(e.code ?? '')} ${String(e.message ?? '')} ${typeof e.json === 'string' ? e.json : JSON.stringify(e.json ?? '')}`;
  // The daemon refused us (--tlsverify: a client certificate its CA signed), whatever it said.
  if (endpoint.transport === 'tls' && (tlsAlert(cause) !== undefined || /ECONNRESET|socket hang up/i.test(text))) return `the daemon refused the client certificate in ${endpoint.certPath ?? '$DOCKER_CERT_PATH'}`;
  if (/CERT|certificate|self.signed|unable to verify/i.test(text)) {
    return endpoint.certPath
      ? `the daemon's certificate is not signed by ${endpoint.certPath}/ca.pem, or is not for this host`
      : 'the daemon speaks TLS: set DOCKER_CERT_PATH to the directory of ca.pem, cert.pem and key.pem';
  }
  if (/HTTP request to an HTTPS server/i.test(text)) return 'the daemon speaks TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH';
  return 'is dockerd running? set DOCKER_HOST or --host';
}

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
