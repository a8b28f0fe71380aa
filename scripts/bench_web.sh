#!/usr/bin/env bash
# The WebSocket figures of BENCHMARKS.md beside the TCP ones, in one sitting: chat-server pinned to
# core 0 with one shard (chat port and web listener both on), chat-loadtest pinned to core 1,
# --transport tcp and ws alternating with the same flags. Loopback only, every run bounded.
# Usage: scripts/bench_web.sh [OUTPUT_DIR]   (needs a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/bench-web}
mkdir -p "$out"
ulimit -n 20000
server=./build/release/server/chat-server
loadtest=./build/release/loadtest/chat-loadtest
port=7960

run() {  # name, transport (tcp or ws), then chat-loadtest options
  local name=$1 transport=$2
  shift 2
  local web_port=$((port + 500))
  taskset -c 0 "$server" --listen 127.0.0.1:$port --web 127.0.0.1:$web_port --irc-listen "" --shards 1 \
    --log-level warn --messages-per-second 0 --bytes-per-second 0 \
    --max-connections-per-address 0 --accepts-per-second 0 --storage temporary &
  local server_pid=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$web_port) 2>/dev/null && break; sleep 0.1; done
  local target=$port
  [ "$transport" = ws ] && target=$web_port
  echo "== $name ($transport): chat-loadtest $*" | tee "$out/$name-$transport.txt"
  taskset -c 1 "$loadtest" --server 127.0.0.1:$target --transport "$transport" \
    --server-pid "$server_pid" --no-progress --json "$out/$name-$transport.json" "$@" |
    tee -a "$out/$name-$transport.txt" || true
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  port=$((port + 1))
}

for round in 1 2; do
  for transport in tcp ws; do
    run fanout-1000-w64-r$round $transport --scenario fanout --members 1000 --payload 64 \
      --window 64 --duration 10s
    run fanout-1000-w256-r$round $transport --scenario fanout --members 1000 --payload 64 \
      --window 256 --duration 10s
  done
done
for transport in tcp ws; do
  run idle-5000 $transport --scenario idle --clients 5000 --duration 3s
  run connect-10000 $transport --scenario idle --clients 10000 --duration 1s
done
