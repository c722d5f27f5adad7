#!/usr/bin/env bash
# Builds the real Kubernetes parts the e2e and cluster tests run against: kube-apiserver, kubectl,
# kubelet, kube-controller-manager, kube-scheduler and kube-proxy (k8s.io/kubernetes from the Go module proxy), etcd (at the client version Kubernetes pins)
# and helm; and takes the Prometheus Operator's CRDs (PrometheusRule, ServiceMonitor) from its Go
# module, for the chart's monitoring objects. Output is cached outside the checkout: $MEMAUDIT_TOOLS (default ~/.cache/memaudit/tools).
# Idempotent: a binary already present for the pinned version is not rebuilt.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.35.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.5}"       # go.etcd.io/etcd/client/v3 pinned by k8s.io/kubernetes v1.35.4
HELM_VERSION="${HELM_VERSION:-v3.19.5}"
PROMETHEUS_OPERATOR_VERSION="${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}"
TOOLS="${MEMAUDIT_TOOLS:-$HOME/.cache/memaudit/tools}"
BIN="$TOOLS/bin"
mkdir -p "$BIN"

staging_version="v0.${KUBE_VERSION#v1.}"

# kube-proxy: the real cluster of test/cluster/ routes the `kubernetes` Service (what in-cluster
# clients such as the controller pod dial) to the API server with it.
KUBE_COMMANDS=(kube-apiserver kubectl kubelet kube-controller-manager kube-scheduler kube-proxy)

build_kube() {
  local cmd missing=()
  # A version change rebuilds all; otherwise only the commands not built yet (one added later).
  if [[ "$(cat "$BIN/.kube-version" 2>/dev/null)" != "$KUBE_VERSION" ]]; then
    missing=("${KUBE_COMMANDS[@]}")
  else
    for cmd in "${KUBE_COMMANDS[@]}"; do [[ -x "$BIN/$cmd" ]] || missing+=("$cmd"); done
  fi
  if ((${#missing[@]} == 0)); then
    echo "${KUBE_COMMANDS[*]} $KUBE_VERSION cached in $BIN"; return
  fi
  local mod="$TOOLS/src/kube-$KUBE_VERSION"
  mkdir -p "$mod"
  cd "$mod"
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  {
    echo "module memaudit.local/kubetools"
    echo
    echo "go 1.25.0"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    grep -E '^\s*k8s.io/[^ ]+ => ./staging/' "$gomod" | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
    echo
    echo "tool ("
    for cmd in "${KUBE_COMMANDS[@]}"; do echo "	k8s.io/kubernetes/cmd/$cmd"; done
    echo ")"
  } > go.mod
  GOFLAGS=-mod=mod go mod tidy
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)"
  ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=$KUBE_VERSION"
  # One invocation: the commands share most packages, and go builds them in parallel.
  echo "building ${missing[*]} $KUBE_VERSION"
  go build -trimpath -ldflags "$ldflags" -o "$BIN/" "${missing[@]/#/k8s.io/kubernetes/cmd/}"
  echo "$KUBE_VERSION" > "$BIN/.kube-version"
}

build_etcd() {
  if [[ -x "$BIN/etcd" && "$(cat "$BIN/.etcd-version" 2>/dev/null)" == "$ETCD_VERSION" ]]; then
    echo "etcd $ETCD_VERSION cached in $BIN"; return
  fi
  # etcd's server module carries replace directives, so `go install mod@version` refuses it:
  # build it from a module of its own instead.
  local mod="$TOOLS/src/etcd-$ETCD_VERSION"
  mkdir -p "$mod"
  cd "$mod"
  printf 'module memaudit.local/etcdtool\n\ngo 1.25.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n\ntool go.etcd.io/etcd/server/v3\n' "$ETCD_VERSION" > go.mod
  GOFLAGS=-mod=mod go mod tidy
  go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3
  echo "$ETCD_VERSION" > "$BIN/.etcd-version"
}

build_helm() {
  if [[ -x "$BIN/helm" && "$(cat "$BIN/.helm-version" 2>/dev/null)" == "$HELM_VERSION" ]]; then
    echo "helm $HELM_VERSION cached in $BIN"; return
  fi
  GOBIN="$BIN" go install -trimpath -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  echo "$HELM_VERSION" > "$BIN/.helm-version"
}

# $TOOLS/crds/: the CRDs as the module ships them (example/prometheus-operator-crd/), no binary.
fetch_crds() {
  local out="$TOOLS/crds" dir
  if [[ "$(cat "$out/.prometheus-operator-version" 2>/dev/null)" == "$PROMETHEUS_OPERATOR_VERSION" ]]; then
    echo "prometheus-operator $PROMETHEUS_OPERATOR_VERSION CRDs cached in $out"; return
  fi
  dir="$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  [[ -n "$dir" ]] || { echo "build-kube-tools: go mod download of prometheus-operator $PROMETHEUS_OPERATOR_VERSION gave no directory" >&2; exit 1; }
  mkdir -p "$out"
  for crd in prometheusrules servicemonitors; do
    install -m 0644 "$dir/example/prometheus-operator-crd/monitoring.coreos.com_$crd.yaml" "$out/"
  done
  echo "$PROMETHEUS_OPERATOR_VERSION" > "$out/.prometheus-operator-version"
  echo "prometheus-operator $PROMETHEUS_OPERATOR_VERSION CRDs in $out"
}

what="${1:-all}"
case "$what" in
  kube) build_kube ;;
  etcd) build_etcd ;;
  helm) build_helm ;;
  crds) fetch_crds ;;
  all) build_etcd; build_helm; build_kube; fetch_crds ;;
  *) echo "usage: $0 [all|kube|etcd|helm|crds]" >&2; exit 2 ;;
esac
