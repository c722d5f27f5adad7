#!/usr/bin/env bash
# A private Docker daemon for tests and CI: hack/dockerd.sh start|stop|status|env
#
# Everything lives under one state dir ($MEMAUDIT_DOCKERD_DIR, default ~/.cache/memaudit/dockerd):
# data root, exec root, socket, pidfile, log, daemon.json. Containers' cgroups are created under
# <our own memory cgroup>/docker, so a test's container memory is charged inside the cgroup the
# test itself runs in, never at the root of the hierarchy.
#
#   start  install docker.io with apt-get if dockerd is missing, start dockerd, wait for /_ping.
#          A no-op when this state dir's daemon already answers.
#   stop   remove this daemon's containers, stop dockerd by its pidfile, wait for it to exit,
#          remove the cgroup directories its containers needed and that did not exist before.
#   status print whether it runs (exit 1 when not).
#   env    print DOCKER_HOST=unix://<socket> (fails when the daemon does not answer):
#          export "$(hack/dockerd.sh env)"
#
# A second daemon beside the shared one (test/integration/docker/tls.test.ts): its own
# MEMAUDIT_DOCKERD_DIR and MEMAUDIT_DOCKERD_CGROUP (the name of its cgroup parent under our own
# memory cgroup, default docker), and optionally
#   MEMAUDIT_DOCKERD_TCP=127.0.0.1:PORT      also listen there (the unix socket stays, for start,
#                                            stop and env)
#   MEMAUDIT_DOCKERD_TLS_DIR=DIR             with --tlsverify: DIR holds ca.pem (the CA clients must
#                                            be signed by), server-cert.pem and server-key.pem
set -euo pipefail

STATE="${MEMAUDIT_DOCKERD_DIR:-$HOME/.cache/memaudit/dockerd}"
SOCK="$STATE/docker.sock"
PIDFILE="$STATE/dockerd.pid"
LOG="$STATE/dockerd.log"
CGROUP_PARENT_FILE="$STATE/cgroup-parent"
CREATED_CGROUPS_FILE="$STATE/created-cgroups"
TCP="${MEMAUDIT_DOCKERD_TCP:-}"
TLS_DIR="${MEMAUDIT_DOCKERD_TLS_DIR:-}"
CGROUP_NAME="${MEMAUDIT_DOCKERD_CGROUP:-docker}"
START_TIMEOUT_SECONDS="${MEMAUDIT_DOCKERD_START_TIMEOUT:-90}"
STOP_TIMEOUT_SECONDS=30
CGROUP_ROOT=/sys/fs/cgroup

log() { echo "dockerd.sh: $*" >&2; }
die() { log "$*"; exit 1; }

ping_ok() {
  [[ -S "$SOCK" ]] && [[ "$(curl -sf --max-time 2 --unix-socket "$SOCK" http://localhost/_ping 2>/dev/null)" == OK ]]
}

daemon_pid() {
  local pid
  pid="$(cat "$PIDFILE" 2>/dev/null)" || return 1
  [[ -n "$pid" && -d "/proc/$pid" ]] || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]] || return 1
  echo "$pid"
}

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  # Installing docker.io would start the distribution's own daemon (systemd or sysv) on
  # /var/run/docker.sock; a policy-rc.d that denies service starts prevents that. Only a file we
  # created is removed again.
  local own_policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    own_policy=1
  fi
  local rc=0
  if ! apt-get install -y -q --no-install-recommends "$@"; then
    apt-get update -q && apt-get install -y -q --no-install-recommends "$@" || rc=$?
  fi
  [[ -n "$own_policy" ]] && rm -f /usr/sbin/policy-rc.d
  return "$rc"
}

ensure_installed() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v curl >/dev/null || missing+=(curl)
  if ((${#missing[@]})); then
    [[ "$(id -u)" == 0 ]] || die "need root to install ${missing[*]}"
    log "installing ${missing[*]}"
    apt_install "${missing[@]}" >>"$STATE/install.log" 2>&1 || die "apt-get install failed, see $STATE/install.log"
  fi
  command -v containerd >/dev/null || die "containerd not found (docker.io should have pulled it in)"
  command -v runc >/dev/null || die "runc not found (docker.io should have pulled it in)"
}

# Our own memory cgroup: the v1 "memory" line, or the v2 "0::" line on a unified host.
own_memory_cgroup() {
  local path
  path="$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3; exit}' /proc/self/cgroup)"
  [[ -n "$path" ]] || path="$(awk -F: '$1 == "0" {print $3; exit}' /proc/self/cgroup)"
  echo "${path%/}"
}

# With the cgroupfs driver on cgroup v1, runc creates <parent>/<container id> in every hierarchy
# (mkdir -p), so the parent's ancestors appear in cpu, pids, blkio... too, where our own cgroup is
# usually "/". Remember which of them are new, so stop can remove exactly those.
record_missing_cgroup_dirs() {
  local parent="$1" hier rel dir
  : > "$CREATED_CGROUPS_FILE.tmp"
  for hier in "$CGROUP_ROOT"/*/; do
    hier="${hier%/}"
    [[ -e "$hier/cgroup.procs" ]] || continue
    rel=""
    IFS=/ read -r -a parts <<< "${parent#/}"
    for part in "${parts[@]}"; do
      rel="$rel/$part"
      dir="$hier$rel"
      [[ -d "$dir" ]] || echo "$dir" >> "$CREATED_CGROUPS_FILE.tmp"
    done
  done
  # Keep dirs recorded by an earlier start that were never cleaned up.
  cat "$CREATED_CGROUPS_FILE" "$CREATED_CGROUPS_FILE.tmp" 2>/dev/null | sort -u > "$CREATED_CGROUPS_FILE.new" || true
  mv "$CREATED_CGROUPS_FILE.new" "$CREATED_CGROUPS_FILE"
  rm -f "$CREATED_CGROUPS_FILE.tmp"
}

remove_created_cgroup_dirs() {
  local parent dir hier
  parent="$(cat "$CGROUP_PARENT_FILE" 2>/dev/null)" || return 0
  {
    for hier in "$CGROUP_ROOT"/*/; do
      [[ -e "${hier}cgroup.procs" && -d "${hier%/}$parent" ]] && echo "${hier%/}$parent"
    done
    cat "$CREATED_CGROUPS_FILE" 2>/dev/null || true
  } | sort -u | awk '{print length($0) "\t" $0}' | sort -rn | cut -f2- | while read -r dir; do
    # rmdir only succeeds on a cgroup with no tasks and no children: never removes live state.
    [[ -d "$dir" ]] && rmdir "$dir" 2>/dev/null || true
  done
  rm -f "$CREATED_CGROUPS_FILE"
}

cmd_start() {
  mkdir -p "$STATE"
  if daemon_pid >/dev/null && ping_ok; then
    log "already running (pid $(daemon_pid)), DOCKER_HOST=unix://$SOCK"
    return 0
  fi
  if pid="$(daemon_pid)"; then
    die "dockerd pid $pid exists but $SOCK does not answer; run '$0 stop' first (log: $LOG)"
  fi
  ((${#SOCK} < 100)) || die "socket path too long for a unix socket: $SOCK (set MEMAUDIT_DOCKERD_DIR)"
  ensure_installed

  local own parent listen=()
  own="$(own_memory_cgroup)"
  parent="${own}/${CGROUP_NAME}"
  [[ -d "$CGROUP_ROOT/unified" || ! -e "$CGROUP_ROOT/cgroup.controllers" ]] ||
    log "warning: cgroup v2 host: the cgroupfs driver needs $own to have no processes of its own"
  echo "$parent" > "$CGROUP_PARENT_FILE"
  record_missing_cgroup_dirs "$parent"

  # A daemon.json of our own, so /etc/docker/daemon.json of the host never leaks in.
  [[ -f "$STATE/daemon.json" ]] || echo '{}' > "$STATE/daemon.json"
  mkdir -p "$STATE/data" "$STATE/exec"
  rm -f "$SOCK" "$PIDFILE"

  if [[ -n "$TCP" ]]; then
    [[ "$TCP" == 127.0.0.1:* ]] || die "MEMAUDIT_DOCKERD_TCP must be on loopback (127.0.0.1:PORT), got $TCP"
    listen=(-H "tcp://$TCP")
    if [[ -n "$TLS_DIR" ]]; then
      for f in ca.pem server-cert.pem server-key.pem; do [[ -r "$TLS_DIR/$f" ]] || die "$TLS_DIR/$f is missing"; done
      listen+=(--tlsverify --tlscacert "$TLS_DIR/ca.pem" --tlscert "$TLS_DIR/server-cert.pem" --tlskey "$TLS_DIR/server-key.pem")
    fi
  fi

  log "starting dockerd (state $STATE, cgroup-parent $parent${TCP:+, tcp://$TCP}${TLS_DIR:+ with TLS})"
  local started=$SECONDS started_ms
  started_ms="$(date +%s%3N)"
  setsid dockerd \
    --config-file "$STATE/daemon.json" \
    --data-root "$STATE/data" \
    --exec-root "$STATE/exec" \
    -H "unix://$SOCK" "${listen[@]}" \
    --pidfile "$PIDFILE" \
    --iptables=false --ip-masq=false --bridge=none \
    --exec-opt native.cgroupdriver=cgroupfs \
    --cgroup-parent "$parent" \
    </dev/null >>"$LOG" 2>&1 9>&- &
  local launcher=$!
  until ping_ok; do
    if ! kill -0 "$launcher" 2>/dev/null; then
      tail -n 20 "$LOG" >&2
      die "dockerd exited during start, see $LOG"
    fi
    ((SECONDS - started < START_TIMEOUT_SECONDS)) || { tail -n 20 "$LOG" >&2; die "dockerd did not answer /_ping within ${START_TIMEOUT_SECONDS}s, see $LOG"; }
    sleep 0.2
  done
  log "ready in $(($(date +%s%3N) - started_ms)) ms (pid $(daemon_pid)), DOCKER_HOST=unix://$SOCK"
}

api() { curl -sf --max-time 60 --unix-socket "$SOCK" "$@"; }

remove_containers() {
  local ids id
  ids="$(api 'http://localhost/containers/json?all=1' | grep -o '"Id":"[0-9a-f]*"' | cut -d'"' -f4)" || return 0
  for id in $ids; do
    api -X DELETE "http://localhost/containers/$id?force=1&v=1" >/dev/null || log "could not remove container $id"
  done
}

cmd_stop() {
  local pid
  if ! pid="$(daemon_pid)"; then
    log "not running"
    remove_created_cgroup_dirs
    return 0
  fi
  ping_ok && remove_containers
  kill -TERM "$pid"
  local started=$SECONDS
  while [[ -d "/proc/$pid" ]]; do
    if ((SECONDS - started >= STOP_TIMEOUT_SECONDS)); then
      log "dockerd $pid ignored SIGTERM for ${STOP_TIMEOUT_SECONDS}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.2
  done
  # Mounts dockerd left behind (after a SIGKILL) under our state dir, deepest first.
  awk -v s="$STATE/" 'index($2, s) == 1 {print $2}' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  rm -f "$PIDFILE" "$SOCK"
  remove_created_cgroup_dirs
  log "stopped (pid $pid)"
}

cmd_status() {
  if pid="$(daemon_pid)" && ping_ok; then
    echo "running pid $pid DOCKER_HOST=unix://$SOCK"
  else
    echo "not running"; return 1
  fi
}

cmd_env() {
  ping_ok || die "no daemon answers on $SOCK; run '$0 start'"
  echo "DOCKER_HOST=unix://$SOCK"
}

# start and stop of one state dir never interleave (two test runners starting at once).
lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/lock"
  flock 9
}

case "${1:-}" in
  start) lock; cmd_start ;;
  stop) lock; cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
