// A Compose service and the containers that run it, found the way `docker compose` itself finds
// them: by the labels it puts on every container it creates,
//   com.docker.compose.project = <project>, com.docker.compose.service = <service>,
//   com.docker.compose.container-number = 1, 2, ... (replicas), com.docker.compose.oneoff = False.
// The project name is, in compose's order: -p/--project, COMPOSE_PROJECT_NAME, the file's
// top-level `name:`, the name of the directory that holds the file (normalised as compose does).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type Docker from 'dockerode';
import { isMap, isScalar, parseDocument } from 'yaml';
import { EnvironmentError, InputError, UsageError } from '../errors.ts';
import { describeError } from '../sampling/docker-stats.ts';

export const PROJECT_LABEL = 'com.docker.compose.project';
export const SERVICE_LABEL = 'com.docker.compose.service';
export const NUMBER_LABEL = 'com.docker.compose.container-number';
export const ONEOFF_LABEL = 'com.docker.compose.oneoff';

export interface ComposeService {
  file: string;
  project: string;
  /** Where the project name came from, for messages. */
  projectFrom: '--project' | 'COMPOSE_PROJECT_NAME' | 'name:' | 'directory';
  service: string;
  /** Every service of the file, for "no such service" messages. */
  services: string[];
}

/** compose-go's NormalizeProjectName: lower case, only [a-z0-9_-], no leading '_' or '-'. */
export function normalizeProjectName(name: string): string {
  return (name.toLowerCase().match(/[a-z0-9_-]/g) ?? []).join('').replace(/^[_-]+/, '');
}

export function composeProjectName(file: string, topLevelName: string | undefined, flag: string | undefined, env: string | undefined): Pick<ComposeService, 'project' | 'projectFrom'> {
  if (flag !== undefined && flag !== '') return { project: normalizeProjectName(flag), projectFrom: '--project' };
  if (env !== undefined && env !== '') return { project: normalizeProjectName(env), projectFrom: 'COMPOSE_PROJECT_NAME' };
  if (topLevelName !== undefined && topLevelName !== '') return { project: normalizeProjectName(topLevelName), projectFrom: 'name:' };
  return { project: normalizeProjectName(path.basename(path.dirname(path.resolve(file)))), projectFrom: 'directory' };
}

/** Reads the Compose file enough to name the project and check the service exists. */
export async function readComposeService(file: string, service: string, projectFlag: string | undefined, projectEnv: string | undefined): Promise<ComposeService> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new InputError(file, `cannot read the Compose file: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
  return composeServiceFromText(text, file, service, projectFlag, projectEnv);
}

export function composeServiceFromText(text: string, file: string, service: string, projectFlag: string | undefined, projectEnv: string | undefined): ComposeService {
  const doc = parseDocument(text, { merge: true, prettyErrors: false });
  if (doc.errors.length > 0) throw new InputError(file, `not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`, { line: doc.errors[0]!.linePos?.[0].line });
  const root = doc.contents;
  if (!isMap(root)) throw new InputError(file, 'not a Compose file: the top level is not a map with "services:"');
  const servicesNode = root.get('services', true);
  if (!isMap(servicesNode)) throw new InputError(file, 'not a Compose file: no "services:" map');
  const services = servicesNode.items.map((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)));
  if (!services.includes(service)) throw new UsageError(`no service ${JSON.stringify(service)} in ${file}; its services: ${services.join(', ') || 'none'}`);
  const nameNode = root.get('name', true);
  const topLevelName = isScalar(nameNode) && nameNode.value !== null ? String(nameNode.value) : undefined;
  return { file, ...composeProjectName(file, topLevelName, projectFlag, projectEnv), service, services };
}

export interface ServiceContainer {
  id: string;
  /** Without the leading slash. */
  name: string;
  /** com.docker.compose.container-number; 1 when absent. */
  number: number;
}

/** The running containers of the service, replica 1 first. None is an EnvironmentError. */
export async function serviceContainers(docker: Docker, target: ComposeService, endpointUrl: string): Promise<ServiceContainer[]> {
  let list: Docker.ContainerInfo[];
  try {
    list = await docker.listContainers({ filters: { label: [`${PROJECT_LABEL}=${target.project}`, `${SERVICE_LABEL}=${target.service}`], status: ['running'] } });
  } catch (cause) {
    throw new EnvironmentError(`cannot list containers on ${endpointUrl}: ${describeError(cause)}`, { cause });
  }
  const containers = list
    .filter((c) => (c.Labels?.[ONEOFF_LABEL] ?? 'False').toLowerCase() !== 'true') // `docker compose run` containers
    .map((c) => ({ id: c.Id, name: (c.Names?.[0] ?? c.Id.slice(0, 12)).replace(/^\//, ''), number: Number(c.Labels?.[NUMBER_LABEL] ?? '1') || 1 }))
    .sort((a, b) => a.number - b.number || a.name.localeCompare(b.name));
  if (containers.length === 0) {
    throw new EnvironmentError(
      `no running container of service ${target.service} in Compose project ${target.project} (project name from ${target.projectFrom}) on ${endpointUrl}; ` +
        `start it (docker compose -f ${target.file} up -d ${target.service}) or name the project with --project`,
    );
  }
  return containers;
}
