#!/usr/bin/env bash
# The figures of issue 17 (BENCHMARKS.md), with the default durable store (SQLite, fsync per group
# commit): one sender with 64 in flight into 100, 1,000, 5,000 and 10,000 members and a window
# sweep (8, 256) into 1,000; fixed rates into 1,000; everyone talking in a room of 200 (server CPU
# per delivery); and the many-rooms step search (100 rooms of 50, the highest rate with p99 within
# 100 ms). Several server builds alternate scenario by scenario, so a before/after comparison is
# one sitting. chat-server on core 0 with one shard and the rate limits off, chat-loadtest on
# core 1; loopback only, every run bounded in time.
# Usage: scripts/bench_performance.sh [OUTPUT_DIR] [SERVER_BINARY...]   (default: the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench_server.sh
source scripts/bench_server.sh
out=${1:-build/bench-performance}
shift || true
servers=("$@")
[ ${#servers[@]} -eq 0 ] && servers=(./build/release/server/chat-server)
mkdir -p "$out"
ulimit -n 20000
loadtest=./build/release/loadtest/chat-loadtest
port=7700

run() {  # label, server binary, then chat-loadtest options
  local label=$1 server=$2
  shift 2
  start_bench_server "$server" $port --http ""
  taskset -c 1 "$loadtest" --server 127.0.0.1:$port --server-pid "$bench_pid" --no-progress \
    --json "$out/$label.json" --svg "$out/$label.svg" "$@" > "$out/$label.txt" || true
  local summary
  summary=$(grep -E "^(delivered|latency ms|server|result)" "$out/$label.txt" |
    sed -E 's/ +/ /g; s/rss .* cpu/cpu/' | tr '\n' ' ')
  if grep -q "^step search" "$out/$label.txt"; then
    summary=$(sed -n '/^step search/,$p' "$out/$label.txt")
  fi
  echo "$label: $summary" | tee -a "$out/summary.txt"
  stop_bench_server
  port=$((port + 1))
}

each() {  # label, then chat-loadtest options: run once per server
  local label=$1
  shift
  for i in "${!servers[@]}"; do run "$label-server$((i + 1))" "${servers[$i]}" "$@"; done
}

for members in 100 1000 5000 10000; do
  each "fanout-$members-w64" --scenario fanout --members $members --payload 64 --window 64 \
    --duration 8s
done
for window in 8 256; do
  each "fanout-1000-w$window" --scenario fanout --members 1000 --payload 64 --window $window \
    --duration 8s
done
for rate in 500 1000 4000; do
  each "fanout-1000-rate$rate" --scenario fanout --members 1000 --payload 64 --rate $rate \
    --duration 10s
done
each "everyone-talks-200" --scenario chatter --clients 200 --rooms 1 --rate 2 --payload 64 \
  --duration 10s
each "many-rooms-search" --scenario chatter --clients 5000 --rooms 100 --rate 1 --payload 64 \
  --p99-bound 100 --rate-factor 1.25 --max-steps 12 --duration 5s
