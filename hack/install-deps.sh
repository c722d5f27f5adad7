#!/usr/bin/env bash
# Debian packages the tests use, installed only when missing:
#   iproute2 and util-linux (ip netns, nsenter and unshare for the network and mount namespaces
#   of the proxy tests and the real cluster's node, setpriv for the unprivileged local-mode
#   tests), openssl (test PKI), curl, chromium (headless: the HTML report's layout test and
#   hack/report-screenshots.sh), prometheus (the server and promtool: `memaudit scan` and the
#   controller's backfill are tested against a real one, started by the tests on loopback; the
#   chart's PrometheusRule and dashboard queries are checked with promtool), zsh (the zsh
#   completion script is tested in a real zsh);
#   for the real cluster of test/cluster/: containerd (its CRI plugin is built in; ctr imports the
#   images), runc, containernetworking-plugins (the bridge, host-local and loopback CNI plugins in
#   /usr/lib/cni) and iptables (kube-proxy and the bridge plugin's masquerade, inside the node's
#   network namespace).
set -euo pipefail
need=()
command -v ip >/dev/null || need+=(iproute2)
command -v openssl >/dev/null || need+=(openssl)
command -v curl >/dev/null || need+=(curl)
command -v chromium >/dev/null || need+=(chromium)
command -v zsh >/dev/null || need+=(zsh)
command -v nsenter >/dev/null && command -v setpriv >/dev/null && command -v unshare >/dev/null || need+=(util-linux)
command -v prometheus >/dev/null && command -v promtool >/dev/null || need+=(prometheus)
command -v containerd >/dev/null && command -v ctr >/dev/null || need+=(containerd)
command -v runc >/dev/null || need+=(runc)
[[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || need+=(containernetworking-plugins)
command -v iptables >/dev/null || need+=(iptables)
if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  # A package's own service (prometheus on :9090, containerd) must not start on the host: a
  # policy-rc.d that denies service starts for the install, as hack/dockerd.sh does for docker.io.
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
