#!/usr/bin/env bash
# Builds the image the Docker tests run, without any registry: a tar rootfs holding the static Go
# target programs (test/apps, built by hack/build-apps.sh) and a static busybox, loaded with
# `docker import`.
#
#   hack/docker-images.sh            # image $MEMAUDIT_APPS_IMAGE (default memaudit-apps:test)
#   MEMAUDIT_APPS_BIN=DIR hack/docker-images.sh   # build (or reuse) the binaries in DIR
#                                    # default DIR: ~/.cache/memaudit/apps/bin
#
# Talks to $DOCKER_HOST, or to the daemon of hack/dockerd.sh when DOCKER_HOST is unset.
# The tar is reproducible (sorted, fixed mtime and owner), so its sha256 is the image's layer
# diff ID: when the image already holds exactly this rootfs, nothing is imported.
#
# Rootfs: /bin/{filesaver,heapleak,mmapleak,tmpfswriter,gcchurn,warmup,noisyleak}, /bin/busybox
# with its applets as symlinks (sh, cat, ls, ...), /tmp (1777), /etc, /dev/shm, /proc, /sys.
# Default command: /bin/sh; PATH=/bin.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${MEMAUDIT_APPS_IMAGE:-memaudit-apps:test}"
APPS=(filesaver heapleak mmapleak tmpfswriter gcchurn warmup noisyleak)

log() { echo "docker-images.sh: $*" >&2; }
die() { log "$*"; exit 1; }

if [[ -z "${DOCKER_HOST:-}" ]]; then
  DOCKER_HOST="$("$ROOT/hack/dockerd.sh" env)" || die "no DOCKER_HOST and no hack/dockerd.sh daemon; run hack/dockerd.sh start"
  export DOCKER_HOST="${DOCKER_HOST#DOCKER_HOST=}"
fi
command -v docker >/dev/null || die "docker CLI not found (hack/dockerd.sh start installs docker.io)"

busybox_static() {
  local bb
  for bb in /bin/busybox /usr/bin/busybox; do
    # The dynamically linked busybox package would not run in a rootfs without a libc.
    if [[ -x "$bb" ]] && ! ldd "$bb" >/dev/null 2>&1; then echo "$bb"; return; fi
  done
  [[ "$(id -u)" == 0 ]] || die "busybox-static missing and not root"
  log "installing busybox-static"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends busybox-static >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends busybox-static >/dev/null; } ||
    die "apt-get install busybox-static failed"
  echo /bin/busybox
}

started_ms="$(date +%s%3N)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs"/{bin,etc,tmp,dev/shm,proc,sys}
chmod 1777 "$rootfs/tmp"

# build-apps.sh is idempotent: binaries newer than every source are kept.
apps="${MEMAUDIT_APPS_BIN:-$HOME/.cache/memaudit/apps/bin}"
[[ -x "$ROOT/hack/build-apps.sh" ]] || die "hack/build-apps.sh missing"
"$ROOT/hack/build-apps.sh" "$apps" >&2
for app in "${APPS[@]}"; do
  [[ -x "$apps/$app" ]] || die "hack/build-apps.sh did not produce $app"
  ldd "$apps/$app" >/dev/null 2>&1 && die "$app is dynamically linked (want CGO_ENABLED=0)"
  cp "$apps/$app" "$rootfs/bin/$app"
done

bb="$(busybox_static)"
cp "$bb" "$rootfs/bin/busybox"
for applet in $("$bb" --list); do
  [[ -e "$rootfs/bin/$applet" ]] || ln -s busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/tmp:/bin/false\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"

tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$work/rootfs.tar" .
diff_id="sha256:$(sha256sum "$work/rootfs.tar" | cut -d' ' -f1)"

if [[ "$(docker image inspect -f '{{index .RootFS.Layers 0}}' "$IMAGE" 2>/dev/null)" == "$diff_id" ]]; then
  log "$IMAGE is up to date (layer $diff_id)"
else
  docker import \
    -c 'ENV PATH=/bin' \
    -c 'WORKDIR /' \
    -c 'CMD ["/bin/sh"]' \
    -m "memaudit test apps: ${APPS[*]} + busybox" \
    "$work/rootfs.tar" "$IMAGE" >/dev/null
  log "imported $IMAGE ($(du -h "$work/rootfs.tar" | cut -f1) rootfs, layer $diff_id)"
fi
log "done in $(($(date +%s%3N) - started_ms)) ms"
echo "$IMAGE"
