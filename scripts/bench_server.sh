# shellcheck shell=bash
# Sourced by the benchmark scripts that compare builds: chat-server pinned to core 0 with one
# shard, the rate limits off, no web or IRC listener, in a data directory of its own.

# start_bench_server BINARY PORT [MORE chat-server FLAGS]: sets bench_pid and bench_data, and
# returns once PORT accepts connections (or after 10 s).
start_bench_server() {
  local server=$1 port=$2
  shift 2
  bench_data=$(mktemp -d)
  taskset -c 0 "$server" --listen 127.0.0.1:"$port" --web "" --irc-listen "" --shards 1 \
    --log-level warn --messages-per-second 0 --bytes-per-second 0 \
    --max-connections-per-address 0 --accepts-per-second 0 --data-dir "$bench_data" "$@" &
  bench_pid=$!
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return; sleep 0.1; done
}

# stop_bench_server: SIGTERM, wait for it, remove its data directory.
stop_bench_server() {
  kill -TERM "$bench_pid"
  wait "$bench_pid" || true
  rm -rf "$bench_data"
}
