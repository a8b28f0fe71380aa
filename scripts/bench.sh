#!/usr/bin/env bash
# Runs the benchmarks behind BENCHMARKS.md on this machine: chat-server pinned to core 0 with one
# shard, chat-loadtest pinned to core 1. Loopback only; every run is bounded in time and count.
# Usage: scripts/bench.sh [OUTPUT_DIR]   (needs a release build: cmake --build --preset release)
# TLS_ONLY=1 scripts/bench.sh: only the TLS runs and their plain-text comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build/bench}
mkdir -p "$out"
ulimit -n 20000
server=${SERVER:-./build/release/server/chat-server}  # SERVER=path compares another build
loadtest=./build/release/loadtest/chat-loadtest
port=7950

start_server() {  # extra chat-server flags
  taskset -c 0 "$server" --listen 127.0.0.1:$port --web "" --irc-listen "" --shards 1 --log-level warn --messages-per-second 0 \
    --bytes-per-second 0 --max-connections-per-address 0 --data-dir "$out/data.$port" "$@" &
  server_pid=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && return; sleep 0.1; done
  echo "server did not start" >&2
  exit 1
}
stop_server() {
  kill -TERM "$server_pid"
  wait "$server_pid" || true
  rm -rf "$out/data.$port"
  port=$((port + 1))
}
run() {  # name, then chat-loadtest options (SERVER_FLAGS: extra chat-server flags)
  local name=$1
  shift
  echo "== $name: chat-server ${SERVER_FLAGS:-} / chat-loadtest $*" | tee "$out/$name.txt"
  # shellcheck disable=SC2086
  start_server ${SERVER_FLAGS:-}
  taskset -c 1 "$loadtest" --server 127.0.0.1:$port --server-pid "$server_pid" --no-progress \
    --json "$out/$name.json" --svg "$out/$name.svg" "$@" | tee -a "$out/$name.txt" || true
  stop_server
}
# The same over TLS: a throwaway CA and server certificate, and a TLS listener beside the plain one.
make_certificates() {
  local dir=$out/tls
  mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=bench-ca \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -days 1 \
    -extfile <(echo "subjectAltName=IP:127.0.0.1") -out "$dir/server.pem" 2>/dev/null
}
run_tls() {  # name, then chat-loadtest options
  local name=$1
  shift
  local tls_port=$((port + 1000))
  echo "== $name (TLS): chat-loadtest $*" | tee "$out/$name.txt"
  start_server --tls-listen 127.0.0.1:$tls_port --tls-cert "$out/tls/server.pem" \
    --tls-key "$out/tls/server.key"
  taskset -c 1 "$loadtest" --server 127.0.0.1:$tls_port --tls --ca-file "$out/tls/ca.pem" \
    --server-pid "$server_pid" --no-progress --json "$out/$name.json" --svg "$out/$name.svg" "$@" |
    tee -a "$out/$name.txt" || true
  stop_server
}
make_certificates
run_tls tls-fanout-1000 --scenario fanout --members 1000 --payload 64 --window 256 --duration 10s
run_tls tls-chatter-1000 --scenario chatter --clients 1000 --rooms 100 --rooms-per-client 1 \
  --rate 0 --window 4 --payload 64 --duration 10s
run_tls tls-idle-5000 --scenario idle --clients 5000 --duration 5s
run idle-5000 --scenario idle --clients 5000 --duration 5s
if [ "${TLS_ONLY:-}" != "" ]; then
  run fanout-1000 --scenario fanout --members 1000 --payload 64 --window 256 --duration 10s
  run chatter-1000 --scenario chatter --clients 1000 --rooms 100 --rooms-per-client 1 --rate 0 \
    --window 4 --payload 64 --duration 10s
  exit 0
fi

# Durable messages (SQLite, fsync per group commit) into one room and across 100 rooms, closed
# loop; then the same without fsync (storage = temporary) to show what the disk costs.
run durable-1-room --scenario fanout --members 50 --senders 50 --payload 64 --window 16 --duration 10s
run durable-100-rooms --scenario chatter --clients 1000 --rooms 100 --rooms-per-client 1 --rate 0 \
  --window 4 --payload 64 --duration 10s
# The acknowledgement latency at a fixed load: 10,000 durable messages/s into one room, and across 100.
run durable-1-room-fixed-10k --scenario fanout --members 50 --senders 50 --payload 64 --rate 200 \
  --duration 10s
run durable-100-rooms-fixed-10k --scenario chatter --clients 1000 --rooms 100 --rooms-per-client 1 \
  --rate 10 --payload 64 --duration 10s
SERVER_FLAGS="--storage temporary" run nosync-1-room --scenario fanout --members 50 --senders 50 \
  --payload 64 --window 16 --duration 10s
SERVER_FLAGS="--storage temporary" run nosync-100-rooms --scenario chatter --clients 1000 --rooms 100 \
  --rooms-per-client 1 --rate 0 --window 4 --payload 64 --duration 10s

run fanout-100 --scenario fanout --members 100 --payload 64 --window 256 --duration 10s
run fanout-1000 --scenario fanout --members 1000 --payload 64 --window 256 --duration 10s
run fanout-10000 --scenario fanout --members 10000 --payload 64 --window 256 --duration 10s --source-addresses 127.0.0.2-127.0.0.3
run fanout-1000-fixed-1M --scenario fanout --members 1000 --payload 64 --rate 1000 --duration 10s
run fanout-1000-fixed-500k --scenario fanout --members 1000 --payload 64 --rate 500 --duration 10s
run fanout-10000-fixed-1M --scenario fanout --members 10000 --payload 64 --rate 100 --duration 10s --source-addresses 127.0.0.2-127.0.0.3
run chatter-5000 --scenario chatter --clients 5000 --rooms 100 --rooms-per-client 1 --rate 2 --payload 64 --duration 10s
# Idle connections: rooms of 100 (presence events on every join) and rooms of one (none). The
# default accept rate (5,000/s) guards a restarting server against a reconnect storm; these runs
# measure how fast it takes connections, so they lift it.
SERVER_FLAGS="--accepts-per-second 0" run idle-10000 --scenario idle --clients 10000 --rooms 100 --duration 3s \
  --source-addresses 127.0.0.2-127.0.0.3
SERVER_FLAGS="--accepts-per-second 0" run idle-10000-no-presence --scenario idle --clients 10000 --rooms 10000 \
  --duration 3s --source-addresses 127.0.0.2-127.0.0.3
SERVER_FLAGS="--accepts-per-second 0" run idle-19000 --scenario idle --clients 19000 --rooms 19000 --duration 3s \
  --source-addresses 127.0.0.2-127.0.0.5
run churn-1000 --scenario churn --clients 1000 --rooms 50 --rooms-per-client 2 --rate 5 --churn-interval 1s --duration 10s
