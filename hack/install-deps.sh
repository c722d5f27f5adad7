#!/usr/bin/env bash
# Debian packages the tests use, installed only when missing:
#   iproute2 and util-linux (ip netns and nsenter for the apiserver proxy tests, setpriv for the
#   unprivileged local-mode tests), openssl (test PKI), curl, chromium (headless: the HTML report's
#   layout test and hack/report-screenshots.sh).
set -euo pipefail
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v chromium >/dev/null || need+=(chromium)
command -v nsenter >/dev/null && command -v setpriv >/dev/null || need+=(util-linux)
if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
command -v go >/dev/null || { echo "install-deps: Go is required (go >= 1.24) to build the audit targets and Kubernetes parts" >&2; exit 1; }
