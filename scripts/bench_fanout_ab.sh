#!/usr/bin/env bash
# Two or more chat-server builds alternating on one fan-out scenario (one sender, 64 in flight,
# 64-byte payloads, 8 s), round after round, for a before/after of a change to the store's round:
# prints deliveries/s, the server's CPU, its busiest threads' CPU and the mean group commit.
# chat-server on core 0 with one shard (bench_server.sh), chat-loadtest on core 1; loopback only.
# Usage: scripts/bench_fanout_ab.sh MEMBERS ROUNDS SERVER_BINARY...   (needs a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench_server.sh
source scripts/bench_server.sh
members=$1
rounds=$2
shift 2
ulimit -n 20000
loadtest=./build/release/loadtest/chat-loadtest
port=7900
report=$(mktemp)
trap 'rm -f "$report"' EXIT

thread_cpu() {  # the three busiest threads of a process: "name seconds; ..."
  for task in /proc/"$1"/task/*; do
    echo "$(cat "$task/comm") $(awk '{printf "%.2f", ($14 + $15) / 100}' "$task/stat")"
  done | sort -k2 -n | tail -3 | paste -sd ';' -
}

for round in $(seq "$rounds"); do
  for server in "$@"; do
    start_bench_server "$server" $port --http 127.0.0.1:$((port + 1000))
    taskset -c 1 "$loadtest" --server 127.0.0.1:$port --server-pid "$bench_pid" --no-progress \
      --scenario fanout --members "$members" --payload 64 --window 64 --duration 8s \
      > "$report" || true
    commit=$(curl -s 127.0.0.1:$((port + 1000))/metrics |
      awk '/^chat_store_commit_seconds_sum/ {s = $2} /^chat_store_commit_seconds_count/ {n = $2}
           END {if (n > 0) printf "%.3f ms mean over %d commits", s * 1000 / n, n}')
    threads=$(thread_cpu "$bench_pid")
    echo "$server round $round: $(grep -oE '\([0-9]+/s\)' "$report" | head -1)" \
      "$(grep -oE 'cpu [0-9.]+ s' "$report" | head -1); threads: $threads; commit $commit"
    stop_bench_server
    port=$((port + 1))
  done
done
