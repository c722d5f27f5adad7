#!/usr/bin/env bash
# Builds the Go audit targets in test/apps (filesaver, heapleak, mmapleak, tmpfswriter, gcchurn,
# warmup, noisyleak, goroutineleak) as static binaries (CGO_ENABLED=0), so they also run in images made with
# `docker import` of a bare rootfs.
#
#   hack/build-apps.sh [OUT_DIR]      # default: $HOME/.cache/memaudit/apps/bin
#
# Idempotent: `go build` is content-addressed, and a binary newer than every source file of the
# module is not rebuilt at all, so a second run costs one `find`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$root/test/apps"
out="${1:-$HOME/.cache/memaudit/apps/bin}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

apps=()
for d in "$src"/*/; do
  [[ -f "$d/main.go" ]] && apps+=("$(basename "$d")")
done

cd "$src"
for app in "${apps[@]}"; do
  bin="$out/$app"
  # Up to date when no .go file or go.mod of the module is newer than the binary.
  if [[ -x "$bin" ]] && [[ -z "$(find . \( -name '*.go' -o -name go.mod \) -newer "$bin" -print -quit)" ]]; then
    continue
  fi
  CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$bin.tmp" "./$app"
  mv -f "$bin.tmp" "$bin"
  echo "built $bin"
done
echo "apps in $out: ${apps[*]}"
