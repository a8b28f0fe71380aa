#!/usr/bin/env bash
# Redis Cluster figures for BENCHMARKS.md (issue 18): chatter across 100 rooms through one
# chat-server node (engine = redis, one shard) on a standalone Redis, on a Redis Cluster of one
# master and on one of three masters (append-only file, fsync every second), and on a standalone
# Redis with a replica, acknowledging once the replica has a message (redis_acknowledge = replica).
# Redis and the node
# share core 0, chat-loadtest runs on core 1: on two cores this shows how the Redis work spreads
# over the masters, not more throughput. Prints messages/s, p99 and each master's CPU per message.
# Loopback only, every run bounded in time.
# Usage: scripts/bench_redis_cluster.sh [OUTPUT_DIR]   (needs a release build)
#   BEFORE=path/to/chat-server: also runs that build on the standalone Redis (with and without the
#   replica), first and last, for a before/after in the same sitting.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/bench-redis-cluster}
mkdir -p "$out"
ulimit -n 20000
server=./build/release/server/chat-server
loadtest=./build/release/loadtest/chat-loadtest
base_port=7850
node_port=7849
redis_pids=()
redis_dirs=()

stop_redis() {
  if ((${#redis_pids[@]} > 0)); then
    kill "${redis_pids[@]}" 2> /dev/null || true
    wait "${redis_pids[@]}" 2> /dev/null || true
  fi
  if ((${#redis_dirs[@]} > 0)); then rm -rf "${redis_dirs[@]}"; fi
  redis_pids=()
  redis_dirs=()
}
trap stop_redis EXIT

start_redis() {  # count, "cluster", "standalone" or "replicated" (one master, one replica)
  local count=$1 mode=$2
  if [[ $mode == replicated ]]; then count=2; fi
  for i in $(seq 0 $((count - 1))); do
    local port=$((base_port + i)) dir
    dir=$(mktemp -d)
    local cluster_flags=()
    if [[ $mode == cluster ]]; then
      cluster_flags=(--cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000)
    elif [[ $mode == replicated ]] && ((i == 1)); then
      cluster_flags=(--replicaof 127.0.0.1 "$base_port")
    fi
    taskset -c 0 redis-server --port $port --bind 127.0.0.1 --dir "$dir" --save "" \
      --appendonly yes --appendfsync everysec --protected-mode no "${cluster_flags[@]}" \
      > "$out/redis-$port.log" &
    redis_pids+=($!)
    redis_dirs+=("$dir")
    for _ in $(seq 100); do redis-cli -p $port ping > /dev/null 2>&1 && break; sleep 0.1; done
  done
  if [[ $mode == replicated ]]; then
    for _ in $(seq 200); do
      redis-cli -p $((base_port + 1)) role | grep -qx connected && return 0
      sleep 0.1
    done
    echo "the replica did not connect" >&2
    exit 1
  fi
  [[ $mode == cluster ]] || return 0
  # Slots in equal ranges, then one cluster (redis-cli --cluster create wants three masters).
  for i in $(seq 0 $((count - 1))); do
    redis-cli -p $((base_port + i)) cluster addslotsrange $((16384 * i / count)) \
      $((16384 * (i + 1) / count - 1)) > /dev/null
    ((i == 0)) || redis-cli -p $base_port cluster meet 127.0.0.1 $((base_port + i)) > /dev/null
  done
  for _ in $(seq 200); do
    local ok=0
    for i in $(seq 0 $((count - 1))); do
      redis-cli -p $((base_port + i)) cluster info | grep -q cluster_state:ok && ok=$((ok + 1))
    done
    ((ok == count)) && return 0
    sleep 0.1
  done
  echo "the cluster did not settle" >&2
  exit 1
}

redis_cpu() {  # port: used_cpu_user + used_cpu_sys
  redis-cli -p "$1" info cpu | awk -F: '/^used_cpu_(user|sys):/ {s += $2} END {printf "%.3f", s}'
}

run() {  # name, redis count, mode[, chat-server binary]
  local name=$1 count=$2 mode=$3 binary=${4:-$server}
  start_redis "$count" "$mode"
  local seeds="127.0.0.1:$base_port" acknowledge=master
  if [[ $mode == replicated ]]; then acknowledge=replica; fi
  taskset -c 0 "$binary" --listen 127.0.0.1:$node_port --web "" --irc-listen "" --shards 1 \
    --log-level warn --engine redis --redis "$seeds" --redis-acknowledge $acknowledge \
    --messages-per-second 0 --bytes-per-second 0 --max-connections-per-address 0 &
  local node=$!
  for _ in $(seq 100); do (exec 3<> /dev/tcp/127.0.0.1/$node_port) 2> /dev/null && break; sleep 0.1; done
  local before=()
  for i in $(seq 0 $((count - 1))); do before+=("$(redis_cpu $((base_port + i)))"); done
  echo "== $name" | tee "$out/$name.txt"
  taskset -c 1 "$loadtest" --server 127.0.0.1:$node_port --no-progress --json "$out/$name.json" \
    --scenario chatter --clients 1000 --rooms 100 --rooms-per-client 1 --rate 0 --window 4 \
    --payload 64 --duration 10s >> "$out/$name.txt" || true
  local sent p99
  sent=$(python3 -c "import json; print(json.load(open('$out/$name.json'))['acked'])")
  p99=$(python3 -c "import json; print(json.load(open('$out/$name.json'))['latency_ms']['p99'])")
  local line
  line="$name: $(awk -v s="$sent" 'BEGIN {printf "%.0f", s / 10}') msg/s, p99 $p99 ms; redis CPU per message:"
  for i in $(seq 0 $((count - 1))); do
    local port=$((base_port + i))
    line+=" $port $(awk -v a="$(redis_cpu $port)" -v b="${before[$i]}" -v s="$sent" \
      'BEGIN {printf "%.1f us", (a - b) * 1e6 / s}')"
  done
  echo "$line" | tee -a "$out/summary.txt"
  kill -TERM $node
  wait $node || true
  stop_redis
}

: > "$out/summary.txt"
if [[ -n ${BEFORE:-} ]]; then
  run standalone-before 1 standalone "$BEFORE"
  run replica-ack-before 1 replicated "$BEFORE"
fi
run standalone 1 standalone
run replica-ack 1 replicated
run cluster-1-master 1 cluster
run cluster-3-masters 3 cluster
if [[ -n ${BEFORE:-} ]]; then
  run standalone-before-again 1 standalone "$BEFORE"
  run replica-ack-before-again 1 replicated "$BEFORE"
  run standalone-again 1 standalone
  run replica-ack-again 1 replicated
fi
