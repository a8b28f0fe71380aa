#!/usr/bin/env bash
# Compares two chat-server builds in one sitting (this machine varies up to 2x between days):
# the standard fan-out (one sender, 64 messages in flight) into 1,000 and 10,000 members, 256 in
# flight into 1,000, chatter in 100 rooms and idle memory, each build twice, alternating.
# chat-server on core 0 with one shard and the rate limits off, chat-loadtest on core 1; loopback
# only, every run bounded in time.
# Usage: scripts/bench_compare.sh BEFORE_SERVER AFTER_SERVER [OUTPUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/bench_server.sh
source scripts/bench_server.sh
before=${1:?usage: bench_compare.sh BEFORE_SERVER AFTER_SERVER [OUTPUT_DIR]}
after=${2:?usage: bench_compare.sh BEFORE_SERVER AFTER_SERVER [OUTPUT_DIR]}
out=${3:-build/bench-compare}
mkdir -p "$out"
ulimit -n 20000
loadtest=./build/release/loadtest/chat-loadtest
port=7850

run() {  # label, server binary, then chat-loadtest options
  local label=$1 server=$2
  shift 2
  start_bench_server "$server" $port --storage temporary
  local result
  result=$(taskset -c 1 "$loadtest" --server 127.0.0.1:$port --server-pid "$bench_pid" --no-progress \
    --json "$out/$label.json" "$@" | grep -E "^(delivered|latency ms|server|result)" | tr -s " " | tr '\n' ' ')
  echo "$label: $result" | tee -a "$out/summary.txt"
  stop_bench_server
  port=$((port + 1))
}

for round in 1 2; do
  for build in before after; do
    server=$before
    [ "$build" = after ] && server=$after
    run "$build-$round-fanout-1000-w64" "$server" --scenario fanout --members 1000 --payload 64 \
      --window 64 --duration 8s
    run "$build-$round-fanout-1000-w256" "$server" --scenario fanout --members 1000 --payload 64 \
      --window 256 --duration 8s
    run "$build-$round-fanout-10000-w64" "$server" --scenario fanout --members 10000 --payload 64 \
      --window 64 --duration 8s --source-addresses 127.0.0.2-127.0.0.3
    run "$build-$round-chatter-100-rooms" "$server" --scenario chatter --clients 1000 --rooms 100 \
      --rooms-per-client 1 --rate 0 --window 4 --payload 64 --duration 8s
    run "$build-$round-idle-5000" "$server" --scenario idle --clients 5000 --duration 3s
  done
done
