#!/usr/bin/env bash
# Cluster-mode figures for BENCHMARKS.md: 1, 2 and 3 chat-server nodes (engine = redis, one shard
# each) and one redis-server (append-only file, fsync every second), all pinned to core 0, and
# chat-loadtest on core 1 with its clients spread round robin over the nodes. Loopback only, so
# this shows the cluster's overhead, not scale-out. Every run is bounded in time.
# Usage: scripts/bench_cluster.sh [OUTPUT_DIR]   (needs a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/bench-cluster}
mkdir -p "$out"
ulimit -n 20000
server=./build/release/server/chat-server
loadtest=./build/release/loadtest/chat-loadtest
redis_port=7990
redis_dir=$(mktemp -d)
taskset -c 0 redis-server --port $redis_port --bind 127.0.0.1 --dir "$redis_dir" --save "" \
  --appendonly yes --appendfsync everysec --protected-mode no > "$out/redis.log" &
redis_pid=$!
trap 'kill $redis_pid 2>/dev/null; wait $redis_pid 2>/dev/null; rm -rf "$redis_dir"' EXIT
for _ in $(seq 100); do redis-cli -p $redis_port ping > /dev/null 2>&1 && break; sleep 0.1; done

cpu_of() {  # user + system CPU seconds of a process, from /proc
  awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"
}
redis_cpu() {
  redis-cli -p $redis_port info cpu | awk -F: '/^used_cpu_(user|sys):/ {s += $2} END {printf "%.2f", s}'
}

run() {  # name, node count, then chat-loadtest options
  local name=$1 nodes=$2
  shift 2
  redis-cli -p $redis_port flushall > /dev/null
  local pids=() servers=()
  for i in $(seq "$nodes"); do
    local port=$((7960 + i))
    taskset -c 0 "$server" --listen 127.0.0.1:$port --web "" --irc-listen "" --shards 1 --log-level warn --engine redis \
      --redis 127.0.0.1:$redis_port --messages-per-second 0 --bytes-per-second 0 \
      --max-connections-per-address 0 &
    pids+=($!)
    servers+=(--server 127.0.0.1:$port)
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  done
  echo "== $name: $nodes node(s) / chat-loadtest $*" | tee "$out/$name.txt"
  local redis_before
  redis_before=$(redis_cpu)
  taskset -c 1 "$loadtest" "${servers[@]}" --no-progress --json "$out/$name.json" "$@" |
    tee -a "$out/$name.txt" || true
  # Where core 0 went: Redis, and each node (its start-up included).
  local nodes_cpu=""
  for pid in "${pids[@]}"; do nodes_cpu+=" $(cpu_of "$pid")"; done
  echo "core 0 cpu s   redis $(awk -v a="$(redis_cpu)" -v b="$redis_before" 'BEGIN {printf "%.2f", a - b}')  nodes$nodes_cpu" |
    tee -a "$out/$name.txt"
  kill -TERM "${pids[@]}"
  wait "${pids[@]}" || true
}
for nodes in 1 2 3; do
  run "fanout-1000-nodes-$nodes" "$nodes" --scenario fanout --members 1000 --payload 64 --window 256 \
    --duration 10s
  run "chatter-1000-nodes-$nodes" "$nodes" --scenario chatter --clients 1000 --rooms 100 \
    --rooms-per-client 1 --rate 0 --window 4 --payload 64 --duration 10s
done
