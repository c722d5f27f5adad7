// The one place memaudit reads its environment. Everything else takes configuration as
// parameters (STYLE: configuration read once, never process.env scattered in modules).
export interface Environment {
  /** Downward API in the controller's Deployment: identity for leader election and events. */
  POD_NAME: string | undefined;
  POD_NAMESPACE: string | undefined;
  /** The Docker endpoint of `memaudit docker` (unix:///var/run/docker.sock, tcp://host:2375), as the docker CLI reads it. */
  DOCKER_HOST: string | undefined;
  /** Compose's project name override, as `docker compose` reads it (below -p, above the file's `name:`). */
  COMPOSE_PROJECT_NAME: string | undefined;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  return {
    POD_NAME: env.POD_NAME,
    POD_NAMESPACE: env.POD_NAMESPACE,
    DOCKER_HOST: env.DOCKER_HOST,
    COMPOSE_PROJECT_NAME: env.COMPOSE_PROJECT_NAME,
  };
}
