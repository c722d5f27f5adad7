#!/usr/bin/env bash
# The test command (README.md: `npm test` runs this): installs what the tests need when missing, starts the services
# they use, then type-checks, lints and runs every test project (unit, integration, e2e, cluster).
# Idempotent; cached builds live outside the checkout under ~/.cache/memaudit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/node_modules/.bin:$PATH"
export MEMAUDIT_CACHE="${MEMAUDIT_CACHE:-$HOME/.cache/memaudit}"

step() { printf '\n==> %s\n' "$*"; }

if [[ ! -x node_modules/.bin/node ]]; then
  step "npm ci (installs Node 24 as the node devDependency)"
  npm ci
fi

step "system packages (hack/install-deps.sh: iproute2, util-linux, openssl, curl, chromium, prometheus (promtool), zsh; containerd, runc, CNI plugins, iptables for test/cluster)"
hack/install-deps.sh

step "Go audit targets"
hack/build-apps.sh "$MEMAUDIT_CACHE/apps/bin"

step "Kubernetes parts (etcd, kube-apiserver, kubectl, kubelet, kube-controller-manager, kube-scheduler, kube-proxy, helm; cached)"
hack/build-kube-tools.sh all

step "private Docker daemon for the Docker-mode tests and test/cluster's images (hack/dockerd.sh; installs docker.io when missing)"
# A daemon this run started is stopped again when it ends, however it ends; one already running is left alone.
if ! hack/dockerd.sh status >/dev/null 2>&1; then
  trap 'step "stopping the private Docker daemon"; hack/dockerd.sh stop || true' EXIT
fi
hack/dockerd.sh start
export "$(hack/dockerd.sh env)"

step "typecheck"
npm run typecheck

step "lint"
npm run lint

step "tests"
# --forceExit: every test stops what it starts (afterEach/afterAll), but a handle leaked by a
# failing test must end the run with that failure, never hang CI until its timeout. Jest prints
# "Force exiting Jest" on every such run; `npx jest --detectOpenHandles` finds a real leak.
npx jest --ci --forceExit "$@"
