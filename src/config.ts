/**
 * The one place memaudit reads its environment. Everything else takes configuration as
 * parameters (STYLE: configuration read once, never process.env scattered in modules).
 */
export interface Environment {
  /** Downward API in the controller's Deployment: identity for leader election and events. */
  POD_NAME: string | undefined;
  POD_NAMESPACE: string | undefined;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  return { POD_NAME: env.POD_NAME, POD_NAMESPACE: env.POD_NAMESPACE };
}
