// The one place memaudit reads its environment. Everything else takes configuration as
// parameters (STYLE: configuration read once, never process.env scattered in modules).
export interface Environment {
  /** Downward API in the controller's Deployment: identity for leader election and events. */
  POD_NAME: string | undefined;
  POD_NAMESPACE: string | undefined;
  /** The Docker endpoint of `memaudit docker` (unix:///var/run/docker.sock, tcp://host:2376, ssh://user@host), as the docker CLI reads it. */
  DOCKER_HOST: string | undefined;
  /** "1": TLS to a tcp:// endpoint, verifying the daemon with $DOCKER_CERT_PATH/ca.pem. */
  DOCKER_TLS_VERIFY: string | undefined;
  /** The directory of ca.pem, cert.pem and key.pem (the client certificate) for TLS. */
  DOCKER_CERT_PATH: string | undefined;
  /** The ssh agent an ssh:// endpoint authenticates with. */
  SSH_AUTH_SOCK: string | undefined;
  /** Compose's project name override, as `docker compose` reads it (below -p, above the file's `name:`). */
  COMPOSE_PROJECT_NAME: string | undefined;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  return {
    POD_NAME: env.POD_NAME,
    POD_NAMESPACE: env.POD_NAMESPACE,
    DOCKER_HOST: env.DOCKER_HOST,
    DOCKER_TLS_VERIFY: env.DOCKER_TLS_VERIFY,
    DOCKER_CERT_PATH: env.DOCKER_CERT_PATH,
    SSH_AUTH_SOCK: env.SSH_AUTH_SOCK,
    COMPOSE_PROJECT_NAME: env.COMPOSE_PROJECT_NAME,
  };
}

/**
 * Runs `make` (synchronous) with exactly these variables set in the process environment, then puts
 * back what was there. For libraries that read their configuration from process.env and nowhere
 * else: docker-modem parses DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH only in its
 * constructor, so memaudit hands it the values it read (and `--host`) this way.
 */
export function withEnvironment<T>(vars: Readonly<Record<string, string | undefined>>, make: () => T): T {
  const saved = Object.keys(vars).map((k) => [k, process.env[k]] as const);
  const set = (k: string, v: string | undefined) => (v === undefined ? delete process.env[k] : (process.env[k] = v));
  for (const [k, v] of Object.entries(vars)) set(k, v);
  try {
    return make();
  } finally {
    for (const [k, v] of saved) set(k, v);
  }
}
