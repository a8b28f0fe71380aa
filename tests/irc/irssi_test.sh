#!/usr/bin/env bash
# Drives the real irssi IRC client (in a private tmux server) against a real chat-server and checks
# its screen with capture-pane: irssi logs in to a registered account with SASL PLAIN, joins #lobby
# (the room "lobby"), talks both ways with a chat-client --script user, prints the topic that user
# sets, and after /disconnect and /connect gets the messages it missed replayed on its rejoin.
#
# Usage: irssi_test.sh CHAT_SERVER CHAT_CLIENT
# Exit status: 0 passed; 1 failed (a one-line "FAIL: ..." on stderr, then the pane, irssi's raw
# IRC log, bob's events and the server log for debugging); 2 bad usage; 77 irssi or tmux is not
# installed (CTest SKIP_RETURN_CODE).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../terminal/tmux_test_helpers.sh
source "$(dirname "$0")/../terminal/tmux_test_helpers.sh"

if [ $# -ne 2 ]; then
  echo "usage: $0 CHAT_SERVER CHAT_CLIENT" >&2
  exit 2
fi
server_bin=$1
client_bin=$2
skip_without irssi tmux

work=$(mktemp -d "${TMPDIR:-/tmp}/chat-irssi-test.XXXXXX")
server_pid=""
bob_pid=""
pane=""  # the tmux target the checks look at
why=""   # set by a failing check, for the timeout message

nick=carol                  # irssi's nick, a registered account
password=carol-secret-1     # its password, given to irssi as SASL PLAIN
room=lobby                  # the channel #lobby

# A private tmux server: its own socket (under the temp dir, removed with it), no user config.
export TMUX_TMPDIR=$work
unset TMUX
cat >"$work/tmux.conf" <<'EOF'
set-option -g status off
set-option -g default-size 100x30
set-option -g default-shell /bin/sh
set-option -g default-terminal screen
set-window-option -g remain-on-exit on
EOF
tmux_cmd=(tmux -L "chat-irssi-test-$$" -f "$work/tmux.conf")

cleanup() {
  "${tmux_cmd[@]}" kill-server >/dev/null 2>&1 || true
  exec 3>&- 2>/dev/null || true  # bob's stdin
  stop_process "$bob_pid"
  stop_process "$server_pid"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- helpers -------------------------------------------------------------------------------------


# tail_of TITLE FILE: the last 25 lines of FILE, between markers, when it is not empty.
tail_of() {
  if [ -s "$2" ]; then
    echo "--- $1 (last 25 lines) ---"
    tail -n 25 "$2"
    echo "--- end of $1 ---"
  fi
}

debug_dump() {
  if [ -n "$pane" ]; then
    echo "--- pane $pane (irssi exit status=$(cat "$work/irssi.status" 2>/dev/null || echo none)) ---"
    pane_text 2>&1 | awk '{ row[NR] = $0 } NF { last = NR } END { for (i = 1; i <= last; i++) print row[i] }' || true
    echo "--- end of pane ---"
  fi
  tail_of "irssi's raw IRC log (<< sent, >> received)" "$work/irssi.rawlog"
  tail_of "chat-client --script bob's events" "$work/bob.out"
  tail_of "chat-client --script bob's stderr" "$work/bob.err"
  tail_of "chat-server log" "$work/server.log"
}


# A pane check also fails fast when irssi has exited or shows an error that ends the test.
check_irssi() {
  if [ -s "$work/irssi.status" ]; then
    fail "irssi exited (status $(cat "$work/irssi.status")) while waiting for $1"
  fi
}

pane_has() {
  check_irssi "'$1'"
  local text
  text=$(pane_text) || return 1
  if grep -qF -- "SASL authentication failed" <<<"$text"; then
    fail "irssi shows 'SASL authentication failed' while waiting for '$1'"
  fi
  grep -qF -- "$1" <<<"$text"
}

# wait_for_pane TEXT [SECONDS]: until the pane shows TEXT (a fixed string).
wait_for_pane() { wait_until "${2:-10}" "'$1' in irssi's pane" pane_has "$1"; }

# input_line: the bottom row of the pane, irssi's prompt and input line.
input_line() { pane_text | tail -n 1; }

input_shows() {
  check_irssi "'$1' on the input line"
  local line
  line=$(input_line) || return 1
  why="the input line is '$line'"
  [ "${line%"$1"}" != "$line" ]
}

input_lacks() {
  check_irssi "irssi to take the line '$1'"
  local line
  line=$(input_line) || return 1
  why="the input line is '$line'"
  [ "${line%"$1"}" = "$line" ]
}

# type_line TEXT: types TEXT on irssi's input line, checks it is there, presses Enter and waits
# until irssi has taken the line.
type_line() {
  "${tmux_cmd[@]}" send-keys -t "$pane" -l "$1"
  wait_until 5 "'$1' on irssi's input line" input_shows "$1"
  "${tmux_cmd[@]}" send-keys -t "$pane" Enter
  wait_until 5 "irssi to take the line '$1'" input_lacks "$1"
}

# bob: chat-client --script, its stdin a FIFO held open on fd 3, its events (JSON lines) in a file.
bob_says() { printf '%s\n' "$1" >&3; }

bob_has() {
  kill -0 "$bob_pid" 2>/dev/null || fail "chat-client --script bob exited while waiting for $1"
  grep -qF -- "$1" "$work/bob.out"
}

# wait_for_bob JSON_TEXT [SECONDS]: until bob's events show JSON_TEXT (a fixed string).
wait_for_bob() { wait_until "${2:-10}" "bob's events to show $1" bob_has "$1"; }

# bob_count N JSON_TEXT: bob's events show JSON_TEXT at least N times.
bob_count() {
  kill -0 "$bob_pid" 2>/dev/null || fail "chat-client --script bob exited while waiting for $2"
  local count
  count=$(grep -cF -- "$2" "$work/bob.out" || true)
  why="seen $count times"
  [ "$count" -ge "$1" ]
}

# log_count PATTERN: how many server log lines match PATTERN (an extended regex).
log_count() { grep -cE -- "$1" "$work/server.log" || true; }
log_count_is() { [ "$(log_count "$1")" -ge "$2" ]; }

pane_lacks() {
  check_irssi "'$1' to leave the pane"
  local text
  text=$(pane_text) || return 1
  ! grep -qF -- "$1" <<<"$text"
}

# line_of TEXT: the number of the first pane line showing TEXT (empty if none).
line_of() { pane_text | grep -nF -- "$1" | head -n 1 | cut -d: -f1; }

# --- 1. the server, on free ports read from its log ---------------------------------------------

# --hash-cost minimum: carol's password hash is quick to make and to check.

"$server_bin" --listen 127.0.0.1:0 --irc-listen 127.0.0.1:0 --web "" --http "" \
  --hash-cost minimum --log-level info --data-dir "$work/data" \
  >/dev/null 2>"$work/server.log" &
server_pid=$!
port=""
irc_port=""
server_ports_known() {
  port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/server.log" | head -n 1)
  irc_port=$(sed -n 's/.*irc on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/server.log" | head -n 1)
  [ -n "$port" ] && [ -n "$irc_port" ] && return 0
  kill -0 "$server_pid" 2>/dev/null || fail "chat-server exited before listening"
  return 1
}
wait_until 10 "chat-server to log 'listening on 127.0.0.1:PORT' and 'irc on 127.0.0.1:PORT'" server_ports_known
ok "chat-server listening on 127.0.0.1:$port, IRC on 127.0.0.1:$irc_port"

# --- 2. carol's account, registered through chat-client ------------------------------------------

register_status=0
printf '/register %s\n' "$password" |
  timeout 10 "$client_bin" --nick "$nick" --server "127.0.0.1:$port" --script \
    >"$work/register.out" 2>"$work/register.err" || register_status=$?
if [ "$register_status" -ne 0 ] || ! grep -qF "$nick is registered" "$work/register.out"; then
  cat "$work/register.out" "$work/register.err" >&2
  fail "chat-client --script could not /register $nick (status $register_status)"
fi
# irssi sends NICK carol: the registering session must have let go of the nick first.
wait_until 10 "the server to log the end of $nick's chat-client session" \
  log_count_is "disconnect .* transport=tcp nick=$nick " 1
ok "$nick registered through chat-client --script"

# --- 3. bob, a chat-client --script user, in lobby -----------------------------------------------

mkfifo "$work/bob.in"
"$client_bin" --nick bob --server "127.0.0.1:$port" --script \
  <"$work/bob.in" >"$work/bob.out" 2>"$work/bob.err" &
bob_pid=$!
exec 3>"$work/bob.in"
bob_says "/join $room"
wait_for_bob '"event":"joined","data":{"room":"lobby"'
ok "chat-client --script bob joined $room"

# --- 4. irssi, with a clean home of its own and a fixed 100x30 terminal --------------------------

mkdir "$work/irssi"
cat >"$work/irssi/config" <<EOF
settings = {
  core = {
    real_name = "Carol Test";
    user_name = "$nick";
    nick = "$nick";
    settings_autosave = "no";
    awaylog_file = "$work/irssi/away.log";
  };
  "irc/core" = {
    cmd_queue_speed = "0";
    alternate_nick = "${nick}_";
  };
  "fe-common/core" = {
    theme = "default";
    autolog = "no";
  };
};
chatnets = {
  testnet = {
    type = "IRC";
    sasl_mechanism = "PLAIN";
    sasl_username = "$nick";
    sasl_password = "$password";
  };
};
servers = (
  {
    address = "127.0.0.1";
    chatnet = "testnet";
    port = "$irc_port";
    use_tls = "no";
    autoconnect = "no";
  }
);
EOF
# irssi runs its startup file once it is ready for input: keys sent before that can be lost.
echo "/echo irssi is ready for input" >"$work/irssi/startup"
# Its exit status goes to a file, as tmux's #{pane_dead_status} is unreliable (see
# tests/terminal/interactive_client_test.sh). It runs in $work: its raw log path is relative.
irssi_command=$(printf '%q ' env -u NO_COLOR TERM=screen LC_ALL=C.UTF-8 irssi "--home=$work/irssi")
status=$(printf '%q' "$work/irssi.status")
"${tmux_cmd[@]}" new-session -d -s chat -n irssi -x 100 -y 30 -c "$work" \
  "$irssi_command; echo \$? >$status.tmp && mv $status.tmp $status"
pane="chat:irssi"
size=$("${tmux_cmd[@]}" display-message -p -t "$pane" '#{pane_width}x#{pane_height}')
[ "$size" = 100x30 ] || fail "the pane is $size, not 100x30"
wait_for_pane "irssi is ready for input"
wait_until 5 "irssi's prompt '[(status)]'" input_shows "[(status)]"
if pane_has "Unknown settings"; then
  fail "irssi does not know a setting in the test's config file"
fi
ok "irssi started in a 100x30 terminal with the test's config"

# --- 5. SASL PLAIN login, then #lobby -----------------------------------------------------------

# -rawlog: irssi writes the IRC lines it sends and receives to irssi.rawlog (shown on failure).
# irssi sends NICK and USER after CAP END: registration waits for them after a SASL login (the
# server used to welcome at CAP END and answer irssi's USER with 462, checked after the JOIN).
type_line "/connect -rawlog irssi.rawlog testnet"
wait_for_pane "SASL authentication succeeded"
wait_for_pane "Welcome to the chat-server chat network, $nick"
ok "irssi logged in as $nick with SASL PLAIN"

type_line "/join #$room"
wait_for_pane "$nick [$nick@chat] has joined #$room"
wait_for_pane "Irssi: #$room: Total of 2 nicks"
wait_for_bob '"event":"member_joined","data":{"room":"lobby","nick":"carol","account":true,'
if grep -q " 462 " "$work/irssi.rawlog" 2>/dev/null; then
  fail "the server answered irssi's registration with 462 (You may not reregister)"
fi
[ -s "$work/irssi.rawlog" ] || fail "irssi wrote no raw log to check for 462"
ok "irssi joined #$room with bob in it; bob saw $nick join; no 462 on registration"

# --- 6. talking both ways ------------------------------------------------------------------------

type_line "hello from irssi"
wait_for_bob '"from":"carol","text":"hello from irssi"'
ok "irssi's message reached chat-client bob"

bob_says "hello from bob"
wait_for_pane "bob> hello from bob"
ok "bob's message shows in irssi"

# --- 7. a topic change ---------------------------------------------------------------------------

bob_says "/topic set from chat-client"
wait_for_pane "bob changed the topic of #$room to: set from chat-client"
ok "irssi printed bob's topic change"

# --- 8. away: /disconnect, bob talks, /connect, the missed messages are replayed ----------------

# /disconnect sends QUIT, which moves carol's read marker past "hello from bob"; the test waits
# until the server has ended her session before bob says anything more.
irc_sessions_ended=$(log_count "disconnect .* transport=irc nick=$nick ")
type_line "/disconnect"
wait_until 10 "the server to log the end of $nick's IRC session" \
  log_count_is "disconnect .* transport=irc nick=$nick " $((irc_sessions_ended + 1))
bob_says "missed message one"
bob_says "missed message two"
# Stored, acknowledged: they are history now, not live messages.
wait_until 10 "the server to acknowledge bob's 3 messages" bob_count 3 '"event":"sent"'
# The old #lobby window goes, so the one the rejoin opens shows only what the server sends now,
# and the status window is cleared, so its next welcome is the reconnect's.
type_line "/window close"
wait_until 5 "irssi's prompt '[(status)]' after /window close" input_shows "[(status)]"
type_line "/clear"
wait_until 5 "irssi's status window to be cleared" pane_lacks "Welcome to the chat-server"
ok "irssi disconnected; bob said two things meanwhile"

type_line "/connect -rawlog irssi.rawlog testnet"
wait_for_pane "SASL authentication succeeded"
wait_for_pane "Welcome to the chat-server chat network, $nick"
type_line "/join #$room"
wait_for_pane "$nick [$nick@chat] has joined #$room"
wait_for_pane "Topic for #$room: set from chat-client"
ok "irssi logged in again, rejoined #$room and shows its topic"

wait_for_pane "bob> missed message two"
wait_for_pane "bob> missed message one"
one=$(line_of "missed message one")
two=$(line_of "missed message two")
[ "$one" -lt "$two" ] || fail "the replay shows 'missed message two' (line $two) before 'missed message one' (line $one)"
# The QUIT moved carol's read marker past bob's first message: the replay starts after it.
[ -z "$(line_of "hello from bob")" ] || fail "the replay shows 'hello from bob' again, which irssi had shown before its QUIT"
ok "the rejoin replayed the two missed messages, in order, and nothing from before the QUIT"

# --- 9. /quit ------------------------------------------------------------------------------------

"${tmux_cmd[@]}" send-keys -t "$pane" -l "/quit"
wait_until 5 "'/quit' on irssi's input line" input_shows "/quit"
"${tmux_cmd[@]}" send-keys -t "$pane" Enter
wait_until 10 "irssi to exit after /quit" test -s "$work/irssi.status"
irssi_status=$(cat "$work/irssi.status")
[ "$irssi_status" = 0 ] || fail "irssi exited with status $irssi_status after /quit, expected 0"
wait_until 10 "bob's events to show $nick leaving a second time" \
  bob_count 2 '"event":"member_left","data":{"room":"lobby","nick":"carol"'
ok "/quit ended irssi with status 0; bob saw $nick leave"
