# shellcheck shell=bash disable=SC2034 # sourced: its variables are used by the scripts that source it
# Shared paths and versions for the project's scripts. Sourced, never run.
# Caches live outside the repository (keyed by version) so a fresh clone on the same machine,
# and CI, reuse binaries that take tens of minutes to build the first time.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PAAS_CACHE=${PAAS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/paas}

K8S_VERSION=${K8S_VERSION:-v1.36.3}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
COREDNS_VERSION=${COREDNS_VERSION:-v1.15.0}

# Where each binary is looked up: an explicit PAAS_CLUSTER_BIN_DIR (a user's own binaries) wins,
# then the versioned build cache.
CLUSTER_BIN_DIR=${PAAS_CLUSTER_BIN_DIR:-$PAAS_CACHE/cluster/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION}
# kubelet and kube-proxy run the real node beside kwok's fake ones (scripts/node).
CLUSTER_BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwokctl kubelet kube-proxy)
# helm only tests the chart, so it has a cache of its own and never invalidates the cluster's.
HELM_BIN=${PAAS_HELM_BIN:-$PAAS_CACHE/tools/helm-$HELM_VERSION/helm}
COREDNS_BIN=${PAAS_COREDNS_BIN:-$PAAS_CACHE/tools/coredns-$COREDNS_VERSION/coredns}

log() { printf '\033[1m[%s]\033[0m %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# A profile is one private set of services: `dev` for bin/run, `test` for bin/test, so a running
# platform and a test run never share a database, a broker or a cluster.
PAAS_PROFILE=${PAAS_PROFILE:-dev}
case $PAAS_PROFILE in
  dev) _pg_port=54329 _redis_port=63799 ;;
  test) _pg_port=54339 _redis_port=63809 ;;
  *) die "PAAS_PROFILE must be dev or test, not '$PAAS_PROFILE'" ;;
esac
# Absolute, since Redis and Postgres change folder before they open their files.
STATE_DIR=$(realpath -ms "${PAAS_STATE_DIR:-$ROOT/.state/$PAAS_PROFILE}")
PG_PORT=${PAAS_PG_PORT:-$_pg_port}
REDIS_PORT=${PAAS_REDIS_PORT:-$_redis_port}
CLUSTER_NAME=${PAAS_CLUSTER_NAME:-paas-$PAAS_PROFILE}
mkdir -p "$STATE_DIR"

as_root() { if ((EUID == 0)); then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else die "run as root or install: $*"; fi; }

# Installs Debian packages the first time a command is missing.
need_debian_package() {
  local command=$1 package=$2
  [[ -n $command ]] && compgen -G "$command" >/dev/null && return 0
  log "installing $package from Debian packages"
  if [[ ! -f $STATE_DIR/.apt-updated ]]; then as_root apt-get update -qq && touch "$STATE_DIR/.apt-updated"; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2; shift 2
  for ((i = 0; i < seconds * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "$what did not come up within ${seconds}s"
}
