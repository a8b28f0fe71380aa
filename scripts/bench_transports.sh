#!/usr/bin/env bash
# The WebSocket and IRC figures of BENCHMARKS.md beside the TCP ones, in one sitting: chat-server
# pinned to core 0 with one shard (chat port, web and IRC listeners all on, the rate limits off),
# chat-loadtest pinned to core 1, --transport tcp, ws and irc alternating with the same flags.
# Loopback only, every run bounded.
# Usage: scripts/bench_transports.sh [OUTPUT_DIR] [TRANSPORTS]   (needs a release build)
#        TRANSPORTS defaults to "tcp ws irc".
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/bench-transports}
transports=${2:-tcp ws irc}
mkdir -p "$out"
ulimit -n 20000
server=./build/release/server/chat-server
loadtest=./build/release/loadtest/chat-loadtest
port=7960

run() {  # name, transport (tcp, ws or irc), then chat-loadtest options
  local name=$1 transport=$2
  shift 2
  local web_port=$((port + 500)) irc_port=$((port + 1000))
  taskset -c 0 "$server" --listen 127.0.0.1:$port --web 127.0.0.1:$web_port \
    --irc-listen 127.0.0.1:$irc_port --shards 1 --log-level warn --messages-per-second 0 \
    --bytes-per-second 0 --max-connections-per-address 0 --accepts-per-second 0 \
    --storage temporary &
  local server_pid=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$irc_port) 2>/dev/null && break; sleep 0.1; done
  local target=$port
  [ "$transport" = ws ] && target=$web_port
  [ "$transport" = irc ] && target=$irc_port
  echo "== $name ($transport): chat-loadtest $*" | tee "$out/$name-$transport.txt"
  taskset -c 1 "$loadtest" --server 127.0.0.1:$target --transport "$transport" \
    --server-pid "$server_pid" --no-progress --json "$out/$name-$transport.json" "$@" |
    tee -a "$out/$name-$transport.txt" || true
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  port=$((port + 1))
}

for round in 1 2; do
  for transport in $transports; do
    run fanout-1000-w64-r$round "$transport" --scenario fanout --members 1000 --payload 64 \
      --window 64 --duration 10s
    run fanout-1000-w256-r$round "$transport" --scenario fanout --members 1000 --payload 64 \
      --window 256 --duration 10s
  done
done
for transport in $transports; do
  run chatter-100x50 "$transport" --scenario chatter --clients 5000 --rooms 100 --rate 2 \
    --duration 10s
  # 12 s: long enough for the MemoryReleaser (every 10 s) to give the join burst's free heap back
  run idle-5000 "$transport" --scenario idle --clients 5000 --duration 12s
  run connect-10000 "$transport" --scenario idle --clients 10000 --duration 1s
done
