# Shared by the tmux-driven tests (tests/terminal/, tests/irc/irssi_test.sh): the verdict,
# waiting with a deadline, the pane's text and stopping background processes. A test defines
# debug_dump (what fail prints after its line), tmux_cmd (its private tmux server) and pane (the
# target it looks at); `why`, when a check sets it, says in the timeout message what it last saw.
# shellcheck shell=bash disable=SC2154

# fail MESSAGE: the verdict on one line, then what the test's debug_dump shows.
fail() {
  echo "FAIL: $*" >&2
  debug_dump >&2
  exit 1
}

ok() { echo "ok - $*"; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_until SECONDS DESCRIPTION COMMAND...: runs COMMAND every 50 ms until it succeeds.
wait_until() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$(($(now_ms) + seconds * 1000))
  why=""
  until "$@"; do
    if (($(now_ms) >= deadline)); then
      fail "timed out after ${seconds}s waiting for $what${why:+ ($why)}"
    fi
    sleep 0.05
  done
}

# pane_text: what the pane shows now.
pane_text() { "${tmux_cmd[@]}" capture-pane -p -t "$pane"; }

# stop_process PID: ends a background process and reaps it (nothing for an empty PID).
stop_process() {
  [ -n "$1" ] || return 0
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# skip_without TOOL...: exits 77 (CTest's skip) naming the first tool that is not installed.
skip_without() {
  local tool
  for tool in "$@"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "SKIP: $tool is not installed" >&2
      exit 77
    fi
  done
}
