#pragma once
// What the IRC front end knows of its client, shared by the side that turns its lines into
// requests (IrcCommands) and the side that turns the server's frames into lines (IrcRenderer).
// A request's IRC context waits in `pending` under its request_id until its answer is rendered.

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "names.hpp"

namespace chat::server::irc {

struct Caps {
  bool echo_message = false;
  bool message_tags = false;
  bool server_time = false;
  bool multi_prefix = false;
  bool sasl = false;
  bool message_redaction = false;  // draft/message-redaction
  bool batch = false;
  bool chathistory = false;  // draft/chathistory: no history after a JOIN, the client asks
  bool labeled_response = false;
  bool read_marker = false;  // draft/read-marker: MARKREAD instead of markers moved implicitly
  bool account_tag = false;
  bool away_notify = false;
  bool extended_join = false;
};

// What a request was asked for, so that its answer becomes the right lines.
enum class Asked {
  hello,         // registration
  sasl_hello,    // AUTHENTICATE PLAIN
  join,          // JOIN: JoinReply -> JOIN (and the topic)
  join_names,    // the NAMES that follow a JOIN (errors are silent: the JOIN said it)
  join_history,  // the messages shown after a JOIN (catch-up or recent history)
  names,
  who,
  part,
  privmsg,
  notice,  // like privmsg, but no error ever goes back (RFC 2812 3.3.2)
  direct,
  direct_notice,
  redact,        // REDACT: target is the channel, text the msgid
  whois,         // WHOIS: target is the nick
  away,          // AWAY: SetAway
  join_marker,   // the read marker's message after a JOIN (draft/read-marker): MARKREAD
  markread_get,  // MARKREAD #channel: a round trip, so the answer shows the marker as it is then
  markread_set,  // MARKREAD #channel timestamp=...: a MarkRead (after: its seq, text: its time)
  chathistory,   // CHATHISTORY LATEST/BEFORE/AFTER/AROUND/BETWEEN: target and text as asked
  chathistory_targets,  // CHATHISTORY TARGETS: one joined channel's latest message
  topic,
  list,
  nick,
  silent,  // MarkRead, and anything whose answer shows nothing
};

struct PendingRequest {
  Asked asked = Asked::silent;
  std::string target;   // the channel or nick as the client wrote it
  std::string text;     // what a direct message said (echo-message)
  bool action = false;  // and whether it was an ACTION
  // CHATHISTORY: only messages with after < seq < before are shown; for TARGETS, the times (ms)
  // a channel's latest message must be between, and how many channels are listed at most.
  std::uint64_t after = 0;
  std::uint64_t before = UINT64_MAX;
  std::uint32_t limit = 0;
  std::string batch;  // the batch the answer's lines go in ("" for none)
  bool opens_batch = false;
  bool closes_batch = false;
  bool history_follows = false;  // JOIN: the join's history is asked after it
  bool marker_unknown = false;   // JOIN: MARKREAD * follows it (draft/read-marker, no marker)
  // labeled-response: the label of the line that asked (its answer alone responds to the line),
  // or the labeled-response batch the answer's lines go in.
  std::string label;
  std::string label_batch;
};

// One joined channel, as the renderer shows it.
struct Channel {
  // The highest sequence shown: a message at or below it is not shown again (history and live
  // messages overlap after a join).
  std::uint64_t shown_seq = 0;
  // Live messages that arrived while the join's history was on its way: shown after it (their
  // sequence and their lines as this client takes them).
  bool catching_up = false;
  std::vector<std::pair<std::uint64_t, std::string>> held;
  // draft/read-marker (accounts only): the read marker and its message's time, and the sequence
  // and time of the last messages shown, to find the message a MARKREAD timestamp names.
  std::uint64_t marker_seq = 0;
  std::int64_t marker_ms = 0;
  std::vector<std::pair<std::uint64_t, std::int64_t>> shown_times;
};

struct ClientState {
  std::string server_name;
  std::string motd;
  Caps caps;

  // Input side (what the lines asked; answers seen as they are delivered).
  std::string nick;       // NICK as given, then as welcomed
  std::string real_name;  // USER's, as chat.v1 takes it
  bool welcomed = false;
  bool cap_negotiating = false;     // CAP LS/REQ seen and no CAP END yet
  std::vector<std::string> joined;  // channels, as room keys (a few: a vector is smallest)
  bool registered_account = false;
  // An account's read markers (guests have none, and keep no maps): room key -> seq, from Welcome
  // and as moved; the seq sent in MarkRead; and (output side) room -> highest seq shown.
  struct Marks {
    std::unordered_map<std::string, std::uint64_t> read_markers;
    std::unordered_map<std::string, std::uint64_t> marked;
    std::unordered_map<std::string, std::uint64_t> delivered;
  };
  std::unique_ptr<Marks> marks;

  bool is_joined(const std::string& key) const {
    return std::find(joined.begin(), joined.end(), key) != joined.end();
  }

  // Output side (what the client has been shown).
  std::string shown_nick = "*";
  std::map<std::string, Channel> channels;  // room key -> channel shown

  // The channel shown for a room, however the room's name was spelled; nullptr when none is.
  Channel* find_channel(std::string_view room) {
    if (auto found = channels.find(std::string(room)); found != channels.end())
      return &found->second;
    for (auto& [name, channel] : channels)
      if (name_key(name) == name_key(room)) return &channel;
    return nullptr;
  }
  std::string last_rename;  // "old\nnew": a nick change is shown once, not once per room
  std::string last_away;    // "nick\nmessage": an away change is shown once, not once per room
  std::string last_quit;    // "nick\nreason": a quit is shown once, not once per room

  std::unordered_map<std::uint64_t, PendingRequest> pending;
  std::uint64_t next_request_id = 1;
  std::uint64_t next_batch = 1;
  std::uint32_t history_limit = 500;  // CHATHISTORY's limit (ISUPPORT CHATHISTORY)
  // labeled-response: labels of channel PRIVMSGs whose echo (echo-message) is their response,
  // by client_msg_id, until the echo or the answer comes.
  std::vector<std::pair<std::uint64_t, std::string>> echo_labels;
  // CHATHISTORY TARGETS: each joined channel's latest message time, until the last is answered.
  std::unique_ptr<std::vector<std::pair<std::int64_t, std::string>>> targets_found;
};

}  // namespace chat::server::irc
