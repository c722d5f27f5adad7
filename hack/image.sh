#!/usr/bin/env bash
# `npm run image`: builds the top-level Dockerfile into memaudit:dev ($MEMAUDIT_IMAGE) in the
# Docker daemon named by $DOCKER_HOST (or Docker's default socket), without any image registry.
#
#   hack/image.sh                 # local bases (below), then docker build
#   hack/image.sh --public-bases  # the Dockerfile's defaults: node:24-slim and distroless (needs a registry)
#
# The Dockerfile takes its two bases as build arguments (BUILD_IMAGE, RUNTIME_IMAGE). Here they are
# assembled from Debian packages and the Node 24 binary of the npm `node` package this checkout
# installed (node_modules/node/bin/node), laid out like the public ones, and loaded with
# `docker import`:
#   memaudit-base:runtime-<hash>  libc6, libgcc-s1, libstdc++6 (dpkg-deb -x of `apt-get download`),
#                                 /nodejs/bin/node (distroless's path), /etc/passwd with nonroot
#                                 65532, /tmp. No shell, no package manager.
#   memaudit-base:build-<hash>    the same, plus busybox-static (sh, env), the npm that runs on
#                                 this machine ($(npm root -g)/npm) at node:24-slim's paths, and
#                                 this machine's CA bundle (/etc/ssl/certs/ca-certificates.crt, or
#                                 $MEMAUDIT_CA_BUNDLE), which npm ci needs where a TLS-inspecting
#                                 proxy stands between the machine and the npm registry.
# <hash> is the sha256 of the base's rootfs tar (sorted, fixed mtime and owners), so a base is only
# imported again when its content changes. The .deb files are cached in
# ~/.cache/memaudit/image/debs. `npm ci` in the build stage needs the npm registry: the build's
# RUN steps use the host's network (--network host; the private daemon has no bridge).
#
# Prints the image's size at the end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${MEMAUDIT_IMAGE:-memaudit:dev}"
CACHE="${MEMAUDIT_CACHE:-$HOME/.cache/memaudit}/image"
RUNTIME_DEBS=(libc6 libgcc-s1 libstdc++6)
BUILD_DEBS=(busybox-static)

log() { echo "image.sh: $*" >&2; }
die() { log "$*"; exit 1; }

bases=local
case "${1:-}" in
  "") ;;
  --public-bases) bases=public ;;
  *) die "usage: $0 [--public-bases]" ;;
esac

command -v docker >/dev/null || die "docker CLI not found (hack/dockerd.sh start installs docker.io)"
docker version -f '{{.Server.Version}}' >/dev/null 2>&1 || die "no Docker daemon answers${DOCKER_HOST:+ on $DOCKER_HOST} (export \"\$(hack/dockerd.sh env)\" for the private one)"

# .deb files of the packages, downloaded once (apt-get download needs no root, only the lists).
debs() {
  mkdir -p "$CACHE/debs"
  local pkg missing=()
  for pkg in "$@"; do
    compgen -G "$CACHE/debs/${pkg}_*.deb" >/dev/null || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    log "apt-get download ${missing[*]}"
    (cd "$CACHE/debs" && { apt-get download "${missing[@]}" >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get download "${missing[@]}" >/dev/null; }; }) ||
      die "apt-get download ${missing[*]} failed"
  fi
  for pkg in "$@"; do ls "$CACHE/debs/${pkg}"_*.deb; done
}

# Imports a rootfs dir as an image tagged by its content hash; prints the tag.
import_rootfs() {
  local name="$1" rootfs="$2" tar="$3" hash tag
  shift 3
  tar --sort=name --mtime=@0 --numeric-owner -C "$rootfs" -cf "$tar" .
  hash="$(sha256sum "$tar" | cut -c1-16)"
  tag="memaudit-base:$name-$hash"
  if docker image inspect "$tag" >/dev/null 2>&1; then
    log "$tag is up to date"
  else
    local changes=()
    for c in "$@"; do changes+=(-c "$c"); done
    docker import "${changes[@]}" -m "memaudit $name base: Debian packages + Node 24 from the npm node package" "$tar" "$tag" >/dev/null
    log "imported $tag ($(du -h "$tar" | cut -f1))"
  fi
  echo "$tag"
}

runtime_rootfs() {
  local rootfs="$1" deb node
  node="$ROOT/node_modules/node/bin/node"
  [[ -x "$node" ]] || die "$node missing: run npm ci (without --ignore-scripts) first"
  mkdir -p "$rootfs"
  for deb in $(debs "${RUNTIME_DEBS[@]}"); do dpkg-deb -x "$deb" "$rootfs"; done
  rm -rf "$rootfs/usr/share/doc" "$rootfs/usr/share/lintian" "$rootfs/usr/share/gdb" "$rootfs/usr/share/gcc" "$rootfs/usr/share/locale"
  mkdir -p "$rootfs/nodejs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/home/nonroot"
  cp "$node" "$rootfs/nodejs/bin/node"
  chmod 1777 "$rootfs/tmp"
  chown 65532:65532 "$rootfs/home/nonroot"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "$rootfs/etc/group"
  printf 'hosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
}

build_local_bases() {
  local work
  work="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$work'" RETURN
  runtime_rootfs "$work/runtime"
  RUNTIME_IMAGE="$(import_rootfs runtime "$work/runtime" "$work/runtime.tar" 'ENV PATH=/nodejs/bin' 'USER 65532:65532' 'WORKDIR /home/nonroot')"

  runtime_rootfs "$work/build"
  local rootfs="$work/build" deb npm
  for deb in $(debs "${BUILD_DEBS[@]}"); do dpkg-deb -x "$deb" "$rootfs"; done
  rm -rf "$rootfs/usr/share/doc"
  mkdir -p "$rootfs/usr/bin" "$rootfs/usr/local/bin" "$rootfs/usr/local/lib/node_modules" "$rootfs/root"
  for applet in $("$rootfs/bin/busybox" --list); do
    [[ -e "$rootfs/bin/$applet" ]] || ln -s busybox "$rootfs/bin/$applet"
  done
  ln -sf /bin/busybox "$rootfs/usr/bin/env"
  npm="$(npm root -g)/npm"
  [[ -f "$npm/bin/npm-cli.js" ]] || die "npm not found at $npm"
  cp -a "$npm" "$rootfs/usr/local/lib/node_modules/npm"
  ln -s /nodejs/bin/node "$rootfs/usr/local/bin/node"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  local ca="${MEMAUDIT_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
  [[ -f "$ca" ]] || die "no CA bundle at $ca (set MEMAUDIT_CA_BUNDLE)"
  mkdir -p "$rootfs/etc/ssl/certs"
  cp "$ca" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  BUILD_IMAGE="$(import_rootfs build "$rootfs" "$work/build.tar" 'ENV PATH=/usr/local/bin:/bin:/usr/bin' \
    'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' 'ENV npm_config_cafile=/etc/ssl/certs/ca-certificates.crt' 'WORKDIR /')"
}

started=$SECONDS
args=(build --network host -t "$IMAGE" --build-arg "REVISION=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)")
if [[ "$bases" == local ]]; then
  build_local_bases
  args+=(--build-arg "BUILD_IMAGE=$BUILD_IMAGE" --build-arg "RUNTIME_IMAGE=$RUNTIME_IMAGE")
fi
log "docker ${args[*]} $ROOT"
# The classic builder: Debian's daemon (20.10) has no buildx plugin next to it.
DOCKER_BUILDKIT=0 docker "${args[@]}" "$ROOT" >&2
size="$(docker image inspect -f '{{.Size}}' "$IMAGE")"
log "built $IMAGE in $((SECONDS - started)) s: $((size / 1024 / 1024)) MiB ($size bytes), user $(docker image inspect -f '{{.Config.User}}' "$IMAGE")"
echo "$IMAGE"
