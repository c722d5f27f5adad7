import { access, chmod, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mustRun } from '../../e2e/harness/exec.ts';
import { REPO_ROOT } from '../../e2e/harness/tools.ts';

/**
 * The images the cluster runs, built here (no registry is reachable) in the Docker daemon of
 * $DOCKER_HOST and handed to the node's containerd as `docker save` archives:
 *   - pause: test/cluster/images/pause (the pod sandbox), `docker import` of a one-file rootfs;
 *   - examples: the Go audit targets of test/apps with busybox (hack/docker-images.sh), which
 *     examples/kubernetes/ runs as memaudit-examples:dev;
 *   - memaudit:dev: the top-level Dockerfile, `npm run image` (hack/image.sh).
 * Docker names carry the memaudit-cluster prefix (the daemon is shared); containerd gets the names
 * the manifests use. Archives are cached by image ID under ~/.cache/memaudit/cluster/images, so an
 * unchanged image is neither rebuilt (Docker's own cache, content hashes) nor saved again.
 */
export const CACHE = path.join(process.env.MEMAUDIT_CACHE ?? path.join(os.homedir(), '.cache/memaudit'), 'cluster');

export interface ClusterImage {
  /** The name in Docker. */
  docker: string;
  /** The name the cluster's manifests and containerd use. */
  cluster: string;
  /** `docker save` archive. */
  archive: string;
  /** Docker image ID (sha256:...). */
  id: string;
}

export const PAUSE_IMAGE = 'memaudit.local/pause:3.10';
export const EXAMPLES_IMAGE = 'memaudit-examples:dev';
export const CONTROLLER_IMAGE = 'memaudit:dev';

const docker = (args: string[], timeoutMs = 120_000) => mustRun('docker', args, { timeoutMs });

async function saved(dockerRef: string, clusterRef: string): Promise<ClusterImage> {
  const id = (await docker(['image', 'inspect', '-f', '{{.Id}}', dockerRef])).trim();
  const dir = path.join(CACHE, 'images');
  await mkdir(dir, { recursive: true });
  const archive = path.join(dir, `${id.replace(/^sha256:/, '').slice(0, 24)}.tar`);
  const have = await access(archive).then(() => true, () => false);
  if (!have) {
    await docker(['save', '-o', `${archive}.tmp`, dockerRef], 600_000);
    await rename(`${archive}.tmp`, archive);
  }
  return { docker: dockerRef, cluster: clusterRef, archive, id };
}

/** A static Go binary as an image of one file, tagged by the rootfs tar's content hash. */
async function pauseImage(): Promise<ClusterImage> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'memaudit-cluster-pause-'));
  try {
    const rootfs = path.join(work, 'rootfs');
    await mkdir(rootfs);
    await mustRun('go', ['build', '-C', path.join(REPO_ROOT, 'test/cluster/images/pause'), '-trimpath', '-ldflags=-s -w', '-o', path.join(rootfs, 'pause'), '.'], { env: { ...process.env, CGO_ENABLED: '0' }, timeoutMs: 300_000 });
    await chmod(path.join(rootfs, 'pause'), 0o755);
    const tar = path.join(work, 'rootfs.tar');
    await mustRun('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', rootfs, '-cf', tar, '.']);
    const hash = (await mustRun('sha256sum', [tar])).slice(0, 16);
    const ref = `memaudit-cluster/pause:${hash}`;
    const exists = await docker(['image', 'inspect', ref]).then(() => true, () => false);
    if (!exists) await docker(['import', '-c', 'ENTRYPOINT ["/pause"]', '-m', 'memaudit test/cluster pod sandbox', tar, ref]);
    return await saved(ref, PAUSE_IMAGE);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function examplesImage(): Promise<ClusterImage> {
  const ref = 'memaudit-cluster/examples:dev';
  await mustRun(path.join(REPO_ROOT, 'hack/docker-images.sh'), [], { env: { ...process.env, MEMAUDIT_APPS_IMAGE: ref }, timeoutMs: 600_000 });
  return saved(ref, EXAMPLES_IMAGE);
}

async function controllerImage(): Promise<ClusterImage> {
  await mustRun(path.join(REPO_ROOT, 'hack/image.sh'), [], { env: { ...process.env, MEMAUDIT_IMAGE: CONTROLLER_IMAGE }, timeoutMs: 1_200_000 });
  return saved(CONTROLLER_IMAGE, CONTROLLER_IMAGE);
}

/** Builds (or finds up to date) the three images; they build one after the other (2 cores). */
export async function buildImages(): Promise<ClusterImage[]> {
  if (!process.env.DOCKER_HOST) throw new Error('test/cluster: DOCKER_HOST is not set (export "$(hack/dockerd.sh env)"; hack/test.sh does)');
  const pause = await pauseImage();
  const examples = await examplesImage();
  const controller = await controllerImage();
  return [pause, examples, controller];
}
