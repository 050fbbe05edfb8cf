#!/usr/bin/env bash
# A local Redis Cluster for the larder/redis cluster tests and benchmark: 3 masters + 3 replicas on
# 127.0.0.1:30001-30006 (override the first port with LARDER_CLUSTER_PORT), `cluster-node-timeout 1000` for fast
# failover (and `cluster-replica-validity-factor 0`: a replica always takes over, even one that synced a
# moment ago), no persistence, data in a temp dir.
#
#   bash scripts/redis-cluster.sh start    # idempotent: exits 0 at once when the cluster is already healthy
#   bash scripts/redis-cluster.sh stop     # stops the six nodes and removes their directory
#   bash scripts/redis-cluster.sh status   # prints `cluster info` of the first node
#
# `start` waits until every node says `cluster_state:ok` and exits non-zero if that does not happen in 30 s.
#
# Each node's cluster bus listens on its port + 1000 (31001-31006 by default; Redis 7's `cluster-port`), not on
# Redis's default of port + 10000: 40001-40026 lie in Linux's ephemeral port range (32768-60999), where an outgoing
# connection or a test's spare port (`listen(0)`) can hold the bus port, and the node then aborts ("Failed listening
# on port ... (cluster)"). Most likely what failed a CI run of 2026-12-06 ("Could not connect to Redis at
# 127.0.0.1:30016"; the node's log was gone). A node that does not answer is started again, twice at most, with its
# log shown.
set -euo pipefail

first="${LARDER_CLUSTER_PORT:-30001}"
ports=()
for i in 0 1 2 3 4 5; do ports+=("$((first + i))"); done
dir="${TMPDIR:-/tmp}/larder-redis-cluster-${first}"

cli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}" 2>/dev/null; }

healthy() {
  for p in "${ports[@]}"; do
    cli "$p" cluster info | grep -q '^cluster_state:ok' || return 1
  done
  # 3 masters, each with slots, and 3 replicas.
  local masters
  masters="$(cli "$first" cluster nodes | awk '$3 ~ /master/ && $3 !~ /fail/ && NF >= 9' | wc -l)"
  [ "$masters" -ge 3 ]
}

# The bus port option, where this redis-server has it (Redis 7 and later; see the header).
bus_port_option() {
  local version
  version="$(redis-server --version)"
  if [[ "$version" =~ \ v=([0-9]+)\. ]] && [ "${BASH_REMATCH[1]}" -ge 7 ]; then
    echo "--cluster-port $(($1 + 1000))"
  fi
}

# Starts the node on port $1 (daemonized).
start_node() {
  local p="$1"
  mkdir -p "$dir/$p"
  # shellcheck disable=SC2046 # the option is two words or none
  redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes $(bus_port_option "$p") \
    --cluster-config-file "$dir/$p/nodes.conf" --cluster-node-timeout 1000 \
    --cluster-replica-validity-factor 0 \
    --save '' --appendonly no --dir "$dir/$p" --daemonize yes \
    --pidfile "$dir/$p/redis.pid" --logfile "$dir/$p/redis.log"
}

# Whether the node on port $1 answers PING within 10 s.
answers() {
  for _ in $(seq 1 100); do
    [ "$(cli "$1" ping)" = "PONG" ] && return 0
    sleep 0.1
  done
  return 1
}

start() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    echo "redis-cluster: redis-server and redis-cli are needed (scripts/ensure-redis.sh installs them)" >&2
    exit 1
  fi
  if healthy; then
    echo "redis-cluster: already up on 127.0.0.1:${ports[0]}-${ports[5]}"
    exit 0
  fi
  mkdir -p "$dir"
  local started=0
  for p in "${ports[@]}"; do
    if [ "$(cli "$p" ping)" = "PONG" ]; then continue; fi
    start_node "$p"
    started=1
  done
  for p in "${ports[@]}"; do
    local attempt
    for attempt in 1 2 3; do
      answers "$p" && break
      if [ "$attempt" = 3 ]; then
        echo "redis-cluster: the node on 127.0.0.1:$p did not start; its log:" >&2
        tail -n 20 "$dir/$p/redis.log" >&2 || true
        exit 1
      fi
      echo "redis-cluster: the node on 127.0.0.1:$p does not answer; starting it again. Its log:" >&2
      tail -n 5 "$dir/$p/redis.log" >&2 || true
      start_node "$p"
    done
  done
  # Create the cluster unless the nodes already know each other (a restart of some nodes only).
  local known
  known="$(cli "${ports[0]}" cluster info | awk -F: '/^cluster_known_nodes/ {print $2}' | tr -d '\r')"
  if [ "${known:-1}" -lt 6 ]; then
    if [ "$started" = 0 ]; then
      # Running but not one cluster (left over from an aborted start): start clean.
      for p in "${ports[@]}"; do cli "$p" flushall >/dev/null || true; cli "$p" cluster reset hard >/dev/null || true; done
    fi
    local hosts=()
    for p in "${ports[@]}"; do hosts+=("127.0.0.1:$p"); done
    redis-cli --cluster create "${hosts[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 || {
      cat "$dir/create.log" >&2
      exit 1
    }
  fi
  for _ in $(seq 1 300); do
    if healthy; then
      echo "redis-cluster: up on 127.0.0.1:${ports[0]}-${ports[5]} (data in $dir)"
      exit 0
    fi
    sleep 0.1
  done
  echo "redis-cluster: the cluster did not reach cluster_state:ok within 30 s" >&2
  cli "${ports[0]}" cluster info >&2 || true
  exit 1
}

stop() {
  for p in "${ports[@]}"; do
    local pidfile="$dir/$p/redis.pid"
    local pid=''
    [ -f "$pidfile" ] && pid="$(cat "$pidfile")"
    # A test may have left a node frozen (SIGSTOP): wake it, ask it to shut down, then make sure.
    [ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null || true
    timeout 3 redis-cli -h 127.0.0.1 -p "$p" shutdown nosave >/dev/null 2>&1 || true
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$dir"
  echo "redis-cluster: stopped"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) cli "$first" cluster info ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
