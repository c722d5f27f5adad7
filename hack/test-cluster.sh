#!/usr/bin/env bash
# `npm run test:cluster`: the real-cluster suite alone (test/cluster/), with what it needs:
# the Debian packages (hack/install-deps.sh), the Kubernetes binaries (hack/build-kube-tools.sh,
# cached), and a Docker daemon to build the images in ($DOCKER_HOST, or the private one of
# hack/dockerd.sh, started here and stopped again when this started it). Extra arguments go to jest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$PATH"
hack/install-deps.sh
hack/build-kube-tools.sh all
if [[ -z "${DOCKER_HOST:-}" ]]; then
  if ! hack/dockerd.sh status >/dev/null 2>&1; then
    trap 'hack/dockerd.sh stop || true' EXIT
  fi
  hack/dockerd.sh start
  export "$(hack/dockerd.sh env)"
fi
npx jest --ci --forceExit --selectProjects cluster "$@"
