#!/usr/bin/env bash
# Drives the interactive chat-client in a real terminal (a private tmux server) and checks the
# screen with capture-pane: a message from someone else is printed above a half-typed line without
# disturbing it, Enter sends it, Tab completes commands and nicks, a bad command keeps the app
# running, and /quit ends it with the right exit status.
#
# Usage: interactive_client_test.sh CHAT_SERVER CHAT_CLIENT
# Exit status: 0 passed; 1 failed (a one-line "FAIL: ..." on stderr, then the pane and the server
# log for debugging); 2 bad usage; 77 tmux is not installed (CTest SKIP_RETURN_CODE).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=tmux_test_helpers.sh
source "$(dirname "$0")/tmux_test_helpers.sh"

if [ $# -ne 2 ]; then
  echo "usage: $0 CHAT_SERVER CHAT_CLIENT" >&2
  exit 2
fi
server_bin=$1
client_bin=$2
skip_without tmux

work=$(mktemp -d "${TMPDIR:-/tmp}/chat-terminal-test.XXXXXX")
server_pid=""
pane=""  # the tmux target the checks look at
why=""   # set by a failing check, for the timeout message

# A private tmux server: its own socket (under the temp dir, removed with it), no user config.
export TMUX_TMPDIR=$work
unset TMUX
cat >"$work/tmux.conf" <<'EOF'
set-option -g status off
set-option -g default-size 100x30
set-option -g default-shell /bin/sh
set-window-option -g remain-on-exit on
EOF
tmux_cmd=(tmux -L "chat-test-$$" -f "$work/tmux.conf")

cleanup() {
  "${tmux_cmd[@]}" kill-server >/dev/null 2>&1 || true
  stop_process "$server_pid"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers -------------------------------------------------------------------------------------

pane_format() { "${tmux_cmd[@]}" display-message -p -t "$pane" "$1"; }

debug_dump() {
  if [ -n "$pane" ]; then
    echo "--- pane $pane (cursor_x=$(pane_format '#{cursor_x}' 2>/dev/null || echo ?)," \
      "cursor_y=$(pane_format '#{cursor_y}' 2>/dev/null || echo ?)," \
      "exit status=$(cat "$(status_file)" 2>/dev/null || echo none)) ---"
    pane_text 2>&1 | awk '{ row[NR] = $0 } NF { last = NR } END { for (i = 1; i <= last; i++) print row[i] }' || true
    echo "--- end of pane ---"
  fi
  if [ -s "$work/server.log" ]; then
    echo "--- chat-server log (last 20 lines) ---"
    tail -n 20 "$work/server.log"
    echo "--- end of chat-server log ---"
  fi
}


# The exit status of the pane's chat-client, once it has exited (see start_client).
status_file() { echo "$work/${pane#chat:}.status"; }

# A pane check also fails fast when chat-client has exited.
check_alive() {
  local file
  file=$(status_file)
  if [ -s "$file" ]; then
    fail "chat-client exited (status $(cat "$file")) while waiting for $1"
  fi
}

pane_has() {
  check_alive "'$1'"
  local text
  text=$(pane_text) || return 1
  grep -qF -- "$1" <<<"$text"
}

# wait_for_pane PATTERN [SECONDS]: until the pane shows PATTERN (a fixed string).
wait_for_pane() { wait_until "${2:-10}" "'$1' in the pane" pane_has "$1"; }

# The prompt line: the last non-blank line of the pane (capture-pane trims trailing spaces).
prompt_line() { pane_text | awk 'NF { line = $0 } END { print line }'; }

# prompt_is TEXT: the prompt line shows TEXT (capture-pane drops its trailing spaces) and the
# cursor is at the end of TEXT, trailing spaces included.
prompt_is() {
  check_alive "the prompt line '$1'"
  local shown=${1%"${1##*[! ]}"} line x
  line=$(prompt_line) || return 1
  if [ "$line" != "$shown" ]; then
    why="the prompt line is '$line'"
    return 1
  fi
  x=$(pane_format '#{cursor_x}') || return 1
  if [ "$x" != "${#1}" ]; then
    why="cursor_x is $x, not ${#1}"
    return 1
  fi
}

# wait_for_prompt TEXT [SECONDS]: until the prompt line is TEXT with the cursor at its end.
wait_for_prompt() { wait_until "${2:-10}" "the prompt line '$1' with the cursor at ${#1}" prompt_is "$1"; }

# expect_exit STATUS WHY: chat-client exits within 10 s, with STATUS.
expect_exit() {
  local file status
  file=$(status_file)
  wait_until 10 "chat-client to exit" test -s "$file"
  status=$(cat "$file")
  [ "$status" = "$1" ] || fail "chat-client exited with status $status after /quit, expected $1 ($2)"
}

# start_client WINDOW NICK: the interactive chat-client in a new 100x30 tmux window, colours on.
# Its exit status goes to a file: tmux's own #{pane_dead_status} is unreliable, as a tmux built
# with libutempter (Debian's) can miss the SIGCHLD and leave the pane's process a zombie.
start_client() {
  local client status
  client=$(printf '%q ' env -u NO_COLOR TERM=xterm-256color INPUTRC=/dev/null \
    "$client_bin" --nick "$2" --server "127.0.0.1:$port" --room lobby)
  status=$(printf '%q' "$work/$1.status")
  local command="$client; echo \$? >$status.tmp && mv $status.tmp $status"
  if "${tmux_cmd[@]}" has-session -t chat 2>/dev/null; then
    "${tmux_cmd[@]}" new-window -t chat -n "$1" "$command"
  else
    "${tmux_cmd[@]}" new-session -d -s chat -n "$1" -x 100 -y 30 "$command"
  fi
  pane="chat:$1"
  local size
  size=$(pane_format '#{pane_width}x#{pane_height}')
  [ "$size" = 100x30 ] || fail "the pane is $size, not 100x30"
}

pane_is_60x20() { [ "$(pane_format '#{pane_width}x#{pane_height}')" = 60x20 ]; }

# --- 1. the server, on a free port read from its log --------------------------------------------

"$server_bin" --listen 127.0.0.1:0 --web "" --irc-listen "" --log-level info --data-dir "$work/data" \
  >/dev/null 2>"$work/server.log" &
server_pid=$!
port=""
server_port_known() {
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/server.log" | head -n 1)
  [ -n "$port" ] && return 0
  kill -0 "$server_pid" 2>/dev/null || fail "chat-server exited before listening"
  return 1
}
wait_until 10 "chat-server to log 'listening on 127.0.0.1:PORT'" server_port_known
ok "chat-server listening on 127.0.0.1:$port"

# --- 2. alice joins in a terminal ---------------------------------------------------------------

start_client alice alice
wait_for_pane "-- joined lobby (1 member)"
wait_for_prompt "[lobby] "
coloured=$("${tmux_cmd[@]}" capture-pane -p -e -t "$pane")  # -e: with the escape sequences
grep -qF $'\033[' <<<"$coloured" || fail "no colour escape sequences in the pane"
ok "chat-client joined lobby in a terminal, with colours and the prompt '[lobby] '"

# --- 3. a half-typed line ------------------------------------------------------------------------

half="half typed line"
"${tmux_cmd[@]}" send-keys -t "$pane" -l "$half"
wait_for_prompt "[lobby] $half"
ok "half-typed line shows on the prompt line"

# --- 4. bob says something from a script ---------------------------------------------------------

bob_status=0
printf '/join lobby\nhello from bob\n' |
  timeout 10 "$client_bin" --nick bob --server "127.0.0.1:$port" --script \
    >"$work/bob.out" 2>"$work/bob.err" || bob_status=$?
if [ "$bob_status" -ne 0 ]; then
  cat "$work/bob.out" "$work/bob.err" >&2
  fail "chat-client --script (bob) exited with status $bob_status"
fi
ok "script client bob joined lobby, said hello and exited 0"

# --- 5. bob's message appears above alice's half-typed line, which is intact ---------------------

wait_for_pane "<bob> hello from bob"
wait_for_pane "-- bob left lobby"  # the last thing bob's visit prints
message_above_prompt() {
  local text message_row prompt_row prompt cursor_y
  text=$(pane_text) || return 1
  message_row=$(grep -nF -- "<bob> hello from bob" <<<"$text" | tail -n 1 | cut -d: -f1)
  prompt_row=$(awk 'NF { row = NR } END { print row }' <<<"$text")
  prompt=$(sed -n "${prompt_row}p" <<<"$text")
  if [ "$prompt" != "[lobby] $half" ]; then
    why="prompt line $prompt_row is '$prompt'"
    return 1
  fi
  if [ -z "$message_row" ] || [ "$message_row" -ge "$prompt_row" ]; then
    why="message on line ${message_row:-none}, prompt on line $prompt_row"
    return 1
  fi
  cursor_y=$(pane_format '#{cursor_y}') || return 1
  if [ "$cursor_y" != $((prompt_row - 1)) ]; then
    why="cursor_y is $cursor_y, the prompt is on row $((prompt_row - 1))"
    return 1
  fi
  prompt_is "[lobby] $half"
}
wait_until 5 "bob's message above the intact prompt '[lobby] $half'" message_above_prompt
ok "message appeared above a half-typed line; the line and the cursor are intact"

# --- 6. Enter sends the half-typed line ----------------------------------------------------------

"${tmux_cmd[@]}" send-keys -t "$pane" Enter
wait_for_pane "<alice> $half"
wait_for_prompt "[lobby] "
ok "Enter sent the half-typed line as a message"

# --- 7. Tab completion: a command, then a nick ---------------------------------------------------

"${tmux_cmd[@]}" send-keys -t "$pane" -l "/jo"
"${tmux_cmd[@]}" send-keys -t "$pane" Tab
wait_for_prompt "[lobby] /join "
"${tmux_cmd[@]}" send-keys -t "$pane" C-u
wait_for_prompt "[lobby] "
ok "Tab completed /jo to '/join '"

"${tmux_cmd[@]}" send-keys -t "$pane" -l "hi bo"
"${tmux_cmd[@]}" send-keys -t "$pane" Tab
wait_for_prompt "[lobby] hi bob "
"${tmux_cmd[@]}" send-keys -t "$pane" C-u
wait_for_prompt "[lobby] "
ok "Tab completed the nick bo to 'bob '"

# --- 8. a bad command is reported and the app keeps running --------------------------------------

"${tmux_cmd[@]}" send-keys -t "$pane" -l "/bogus"
"${tmux_cmd[@]}" send-keys -t "$pane" Enter
wait_for_pane "!! unknown command /bogus (try /help)"
wait_for_prompt "[lobby] "
ok "/bogus was refused and the prompt is back"

# --- 9. a resized terminal: a wrapped half-typed line survives a message -------------------------

"${tmux_cmd[@]}" resize-window -t "$pane" -x 60 -y 20
wait_until 5 "the pane to be 60x20" pane_is_60x20
long="word001 word002 word003 word004 word005 word006 word007 word008"
"${tmux_cmd[@]}" send-keys -t "$pane" -l "$long"
wait_for_pane "word008"
printf '/join lobby\nafter the resize\n' |
  timeout 10 "$client_bin" --nick bob --server "127.0.0.1:$port" --script >/dev/null 2>&1 ||
  fail "chat-client --script (bob) failed after the resize"
wait_for_pane "<bob> after the resize"
wait_for_pane "-- bob left lobby"
one_copy_of_the_line() {
  local text copies
  text=$(pane_text) || return 1
  copies=$(grep -cF -- "[lobby] word001" <<<"$text" || true)
  if [ "$copies" != 1 ]; then
    why="the start of the half-typed line is on the screen $copies times"
    return 1
  fi
}
wait_until 5 "one copy of the wrapped half-typed line" one_copy_of_the_line
"${tmux_cmd[@]}" send-keys -t "$pane" C-u
wait_for_prompt "[lobby] "
ok "after a resize, a message does not leave copies of a wrapped half-typed line behind"

# --- 10. /quit -----------------------------------------------------------------------------------

"${tmux_cmd[@]}" send-keys -t "$pane" -l "/quit"
"${tmux_cmd[@]}" send-keys -t "$pane" Enter
# A typo (/bogus) does not make an interactive session fail; only losing the server does.
expect_exit 0 "/quit"
ok "/quit ended chat-client with status 0"
last_line=$(pane_text | awk 'NF { line = $0 } END { print line }')
[ "$last_line" != "[lobby] " ] || fail "a prompt was left on the screen after /quit"
ok "no prompt left behind after /quit"
