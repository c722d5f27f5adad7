import { access, constants, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments, parse } from 'yaml';
import { run } from '../../e2e/harness/exec.ts';
import type { ExecResult } from '../../e2e/harness/exec.ts';
import { REPO_ROOT, tool } from '../../e2e/harness/tools.ts';

/**
 * Renders charts/memaudit with the real helm binary (hack/build-kube-tools.sh builds it into the
 * tools cache) and reads config/rbac/ for comparison. Shared by test/unit/chart/ and
 * test/e2e/helm.test.ts.
 */

export const CHART_DIR = path.join(REPO_ROOT, 'charts/memaudit');
export const HELM = tool('helm');

/**
 * The Kubernetes version `helm template` renders for: the oldest the chart supports. Needed
 * because a helm built with `go install` (as here) reports Kubernetes v1.20 by default: release
 * builds stamp their client-go version, `go install` does not. `helm install` asks the API server.
 */
export const MIN_KUBE_VERSION = 'v1.30.0';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export async function requireHelm(): Promise<void> {
  try {
    await access(HELM, constants.X_OK);
  } catch {
    throw new Error(`helm is missing at ${HELM}: build it once (cached outside the checkout) with hack/build-kube-tools.sh helm`);
  }
}

/** helm with HELM_*_HOME pointed at `home` when given, so an install leaves nothing in ~/.cache or ~/.config. */
export async function helm(args: string[], options: { home?: string; input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
  await requireHelm();
  const env = options.home
    ? { ...process.env, HELM_CACHE_HOME: path.join(options.home, 'cache'), HELM_CONFIG_HOME: path.join(options.home, 'config'), HELM_DATA_HOME: path.join(options.home, 'data') }
    : process.env;
  return run(HELM, args, { env, timeoutMs: options.timeoutMs ?? 60_000, ...(options.input === undefined ? {} : { input: options.input }) });
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** Values as YAML would give them (passed to helm on stdin with -f -). */
  values?: Record<string, unknown>;
  includeCrds?: boolean;
  kubeVersion?: string;
}

/** `helm template`; resolves to helm's exit and output, never throws for a failed render. */
export async function template(o: RenderOptions = {}): Promise<ExecResult> {
  const args = ['template', o.release ?? 'memaudit', CHART_DIR, '--namespace', o.namespace ?? 'memaudit', '--kube-version', o.kubeVersion ?? MIN_KUBE_VERSION, '-f', '-'];
  if (o.includeCrds) args.push('--include-crds');
  return helm(args, { input: JSON.stringify(o.values ?? {}) });
}

/**
 * templates/NOTES.txt as `helm install` prints it. `helm template` never renders NOTES.txt, so a
 * copy of the chart carries it once more as a template whose output is a YAML string.
 */
export async function renderNotes(o: RenderOptions = {}): Promise<string> {
  const copy = await mkdtemp(path.join(os.tmpdir(), 'memaudit-chart-'));
  try {
    await cp(CHART_DIR, copy, { recursive: true });
    const notes = await readFile(path.join(CHART_DIR, 'templates/NOTES.txt'), 'utf8');
    await writeFile(path.join(copy, 'templates/zz-notes.yaml'), `{{- define "test.notes" -}}\n${notes}{{- end -}}\nnotes: {{ include "test.notes" . | toJson }}\n`);
    const args = ['template', o.release ?? 'memaudit', copy, '--namespace', o.namespace ?? 'memaudit', '--kube-version', o.kubeVersion ?? MIN_KUBE_VERSION, '-s', 'templates/zz-notes.yaml', '-f', '-'];
    const r = await helm(args, { input: JSON.stringify(o.values ?? {}) });
    if (r.code !== 0) throw new Error(`helm template exited ${r.code}: ${r.stderr.trim()}`);
    return (parseAllDocuments(r.stdout)[0]!.toJS() as { notes: string }).notes;
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

/** `helm template` parsed into objects; throws with helm's message when the chart does not render. */
export async function render(o: RenderOptions = {}): Promise<KubeObject[]> {
  const r = await template(o);
  if (r.code !== 0) throw new Error(`helm template exited ${r.code}: ${r.stderr.trim()}`);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

export function find(objects: KubeObject[], kind: string, name?: string): KubeObject[] {
  return objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
}

export function only(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = find(objects, kind, name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found[0]!;
}

/** Rules of config/rbac/ (the default, direct access) or config/rbac-proxy/ (the opt-in API server proxies). */
export async function configRbac(file: 'role.yaml' | 'leader_election_role.yaml', dir: 'rbac' | 'rbac-proxy' = 'rbac'): Promise<PolicyRule[]> {
  const doc = parse(await readFile(path.join(REPO_ROOT, 'config', dir, file), 'utf8')) as { rules: PolicyRule[] };
  return doc.rules;
}

/**
 * Rules as the set of single grants they make (group, resource, verb, names): two rule lists that
 * grant the same thing compare equal however they are grouped or ordered.
 */
export function grants(rules: PolicyRule[]): string[] {
  const out = new Set<string>();
  for (const r of rules) {
    for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(`${g || 'core'}/${res}:${v}${r.resourceNames ? `[${[...r.resourceNames].sort().join(',')}]` : ''}`);
  }
  return [...out].sort();
}
