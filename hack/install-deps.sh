#!/usr/bin/env bash
# Debian packages the tests use, installed only when missing:
#   iproute2 and util-linux (ip netns and nsenter for the apiserver proxy tests, setpriv for the
#   unprivileged local-mode tests), openssl (test PKI), curl, chromium (headless: the HTML report's
#   layout test and hack/report-screenshots.sh), and prometheus (the server and promtool:
#   `memaudit scan` and the controller's backfill are tested against a real one, started by the
#   tests themselves on loopback).
set -euo pipefail
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v chromium >/dev/null || need+=(chromium)
command -v nsenter >/dev/null && command -v setpriv >/dev/null || need+=(util-linux)
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  # The prometheus package would start its own service (on :9090, with a TSDB in /var/lib); a
  # policy-rc.d that denies service starts prevents that, as hack/dockerd.sh does for docker.io.
  # Only a file this script created is removed again.
  own_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  rc=0
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } || rc=$?
  [[ -n "$own_policy" ]] && rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || exit "$rc"
fi
command -v go >/dev/null || { echo "install-deps: Go is required (go >= 1.24) to build the audit targets and Kubernetes parts" >&2; exit 1; }
