#!/usr/bin/env bash
# Starts, on loopback, the two Redis topologies fleets run and that
# redisstore's tests use:
#
#   - a Redis Cluster of three masters (no replicas), ports BASE+1..BASE+3;
#   - a primary (BASE+11) and its replica (BASE+12) watched by one Sentinel
#     (BASE+19) under the master name "entrasaml".
#
# BASE is $REDIS_TOPOLOGY_PORT (default 7100). Usage:
#
#   eval "$(bash .ci/redis-topologies.sh start DIR)"   # prints export lines
#   bash .ci/redis-topologies.sh stop DIR
#
# start writes the servers' files (config, logs, pid files) under DIR, waits
# until the cluster is ok and the Sentinel knows the replica, and prints:
#
#   export REDIS_CLUSTER_ADDRS=127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103
#   export REDIS_SENTINEL_ADDRS=127.0.0.1:7119
#   export REDIS_SENTINEL_MASTER=entrasaml
#
# stop kills what start started (by the pid files in DIR). Without these
# variables, redisstore's tests start topologies of their own (from Go).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop DIR" >&2; exit 2
fi
base=${REDIS_TOPOLOGY_PORT:-7100}
master=entrasaml

stop() {
  local f pids=()
  for f in "$dir"/*.pid; do
    [ -e "$f" ] && pids+=("$(cat "$f")")
  done
  [ "${#pids[@]}" -gt 0 ] || return 0
  kill "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "${pids[@]}" 2>/dev/null || break; sleep 0.1; done
  rm -f "$dir"/*.pid
}

# server NAME PORT ARGS...: a redis-server daemon with its files in DIR/NAME.
server() {
  local name=$1 port=$2; shift 2
  mkdir -p "$dir/$name"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/$name" --daemonize yes \
    --pidfile "$dir/$name.pid" --logfile "$dir/$name/redis.log" --loglevel warning \
    --save "" --appendonly no --maxmemory-policy noeviction --repl-diskless-sync-delay 0 "$@"
}

# wait_for WHAT COMMAND...: retries COMMAND for up to 15 s.
wait_for() {
  local what=$1; shift
  for _ in $(seq 150); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "redis-topologies: timed out waiting for $what" >&2
  tail -n 20 "$dir"/*/redis.log >&2 || true
  return 1
}

ping() { [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; }
cluster_ok() {
  local p
  for p in "$@"; do
    redis-cli -p "$p" cluster info | grep -q '^cluster_state:ok' || return 1
  done
}
link_up() { redis-cli -p "$1" info replication | grep -q '^master_link_status:up'; }
sentinel_sees_replica() {
  redis-cli -p "$1" sentinel replicas "$master" | grep -qx "127.0.0.1:$2"
}

case "$cmd" in
stop)
  stop
  exit 0
  ;;
start) ;;
*)
  echo "usage: $0 start|stop DIR" >&2; exit 2
  ;;
esac

mkdir -p "$dir"
trap 'stop' ERR

# Cluster: three masters, every slot assigned, no replicas.
cports=($((base + 1)) $((base + 2)) $((base + 3)))
for p in "${cports[@]}"; do
  server "cluster-$p" "$p" --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout 2000
done
for p in "${cports[@]}"; do wait_for "cluster node $p" ping "$p"; done
redis-cli --cluster create "${cports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >"$dir/cluster-create.log" 2>&1 ||
  { cat "$dir/cluster-create.log" >&2; false; }
wait_for "cluster_state:ok" cluster_ok "${cports[@]}"

# Sentinel: a primary, its replica, one Sentinel (quorum 1). The tests do
# not fail this set over (they start their own for that): the long
# down-after keeps a loaded CI machine from failing it over by itself.
primary=$((base + 11)) replica=$((base + 12)) sentinel=$((base + 19))
server primary "$primary"
wait_for "primary $primary" ping "$primary"
server replica "$replica" --replicaof 127.0.0.1 "$primary"
wait_for "replica $replica in sync" link_up "$replica"
mkdir -p "$dir/sentinel"
cat >"$dir/sentinel/sentinel.conf" <<EOF
port $sentinel
bind 127.0.0.1
daemonize yes
pidfile $dir/sentinel.pid
logfile $dir/sentinel/redis.log
dir $dir/sentinel
sentinel monitor $master 127.0.0.1 $primary 1
sentinel down-after-milliseconds $master 5000
sentinel failover-timeout $master 5000
EOF
redis-server "$dir/sentinel/sentinel.conf" --sentinel
wait_for "sentinel $sentinel" ping "$sentinel"
wait_for "sentinel to see replica $replica" sentinel_sees_replica "$sentinel" "$replica"

trap - ERR
addrs=$(IFS=,; echo "${cports[*]/#/127.0.0.1:}")
echo "export REDIS_CLUSTER_ADDRS=$addrs"
echo "export REDIS_SENTINEL_ADDRS=127.0.0.1:$sentinel"
echo "export REDIS_SENTINEL_MASTER=$master"
