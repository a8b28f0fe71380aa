#pragma once
// The server's frames as IRC lines for one client, free of I/O: answers become numerics and
// echoes by what their request asked (ClientState::pending), events become JOIN, PART, PRIVMSG,
// TOPIC, NICK, ... A room message's lines are built once per frame, with every tag, and shared by
// every IRC client that sends it; each client takes them with the tags its capabilities allow.

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "chat.pb.h"
#include "framing.hpp"
#include "irc_client_state.hpp"

namespace chat::server::irc {

// Which of a room message's tags (time, msgid, account) a client takes, by its capabilities:
// message-tags, server-time, account-tag. A frame keeps its lines once per selection.
enum class TagSelection { all, all_but_account, time_account, time, account, none };
inline constexpr std::size_t tag_selections = 6;

// Appends lines built with every tag ("@time=...;msgid=...[;account=...] :src CMD ...") with only
// the tags selected, after a batch tag when batch is not empty.
void select_tags(std::string& out, std::string_view lines, TagSelection selection,
                 std::string_view batch);

class Renderer {
 public:
  explicit Renderer(ClientState& state) : state_(state) {}

  // Appends the lines for one frame queued to the client (wire-ready frames as they are).
  void render(std::string& out, const EncodedFrame& frame);

  // 001-005 and the MOTD, for a client that now counts as registered.
  static void append_welcome(std::string& out, const ClientState& state, std::string_view nick);
  static void append_motd(std::string& out, const ClientState& state, std::string_view nick);
  // ":server NUMERIC nick"; the caller adds the parameters.
  static std::string numeric(const ClientState& state, std::string_view code,
                             std::string_view nick);
  // ":server NUMERIC nick middle :trailing\r\n"; no trailing parameter when it is nullopt.
  static void append_numeric(std::string& out, const ClientState& state, std::string_view code,
                             std::string_view nick, std::string_view middle,
                             std::optional<std::string_view> trailing);
  // BATCH +id type [target] / BATCH -id, when id is not empty.
  static void open_batch(std::string& out, const ClientState& state, std::string_view id,
                         std::string_view type, std::string_view target);
  static void close_batch(std::string& out, const ClientState& state, std::string_view id);
  // labeled-response: the response to a labeled line, with its label (ACK when empty, a
  // labeled-response batch when more than one line).
  static void append_labeled(std::string& out, ClientState& state, std::string_view lines,
                             std::string_view label);
  // ":server FAIL COMMAND CODE context... :description\r\n" (IRCv3 standard replies).
  static void append_fail(std::string& out, const ClientState& state, std::string_view command,
                          std::string_view code, std::initializer_list<std::string_view> context,
                          std::string_view description);

 private:
  void render_room_message(std::string& out, const EncodedFrame& frame);
  void render_frame(std::string& out, const v1::ServerFrame& frame);
  // MARKREAD #channel timestamp=... (or * when marked is nullptr).
  void append_markread(std::string& out, std::string_view channel, const Channel* marked) const;
  // draft/read-marker: the sequence and time of a message shown (its lines start with @time).
  void remember_shown(Channel& channel, std::uint64_t seq, std::string_view lines) const;
  void render_answer(std::string& out, const v1::ServerFrame& frame, const PendingRequest& asked);
  void render_event(std::string& out, const v1::ServerFrame& frame);
  void render_error(std::string& out, const v1::Error& error, const PendingRequest& asked);
  void render_welcome(std::string& out, const v1::Welcome& welcome, Asked asked);
  void render_joined(std::string& out, const v1::JoinReply& reply, bool history_follows);
  void render_members(std::string& out, const v1::MemberList& list, Asked asked);
  void render_history(std::string& out, const v1::HistoryReply& reply, const PendingRequest& asked);
  void render_join_history(std::string& out, const v1::HistoryReply& reply);
  void render_chathistory(std::string& out, const v1::HistoryReply& reply,
                          const PendingRequest& asked);
  // One channel's latest message for CHATHISTORY TARGETS (nullptr: none, or an error).
  void render_target(std::string& out, const v1::RoomMessage* latest, const PendingRequest& asked);
  void render_rooms(std::string& out, const v1::RoomList& list, const PendingRequest& asked);
  void render_ok(std::string& out, const PendingRequest& asked);
  void render_whois(std::string& out, const v1::UserInfo& info);
  // JOIN #channel, or with extended-join JOIN #channel account :real name.
  void append_join(std::string& out, std::string_view nick, std::string_view channel, bool account,
                   std::string_view real_name) const;
  // A message's shared lines, with the tags this client takes and, when not empty, a batch tag.
  void append_for_client(std::string& out, std::string_view lines,
                         std::string_view batch = {}) const;
  // A room message as it is sent, its lines as this client takes them: nothing for the client's
  // own without echo-message (its own messages in history are shown: it has no copy of those).
  void append_live(std::string& out, const EncodedFrame& frame) const;
  TagSelection tag_selection() const;
  void line(std::string& out, std::string_view code, std::string_view middle,
            std::string_view trailing) const {
    append_numeric(out, state_, code, state_.shown_nick, middle, trailing);
  }
  // FAIL PRIVMSG CODE target :why, for a message that could not be sent.
  void fail(std::string& out, const v1::Error& error, std::string_view target) const;
  void notice(std::string& out, std::string_view target, std::string_view text) const;

  ClientState& state_;
};

// The lines of a room message with every tag (@time, msgid), built once per frame.
std::string room_message_lines(const v1::RoomMessage& message);
// "2026-12-04T21:00:00.123Z"
std::string iso_time(std::int64_t unix_ms);
// The milliseconds since 1970 of such a time (the milliseconds may be left out), or nullopt.
std::optional<std::int64_t> parse_iso_time(std::string_view text);
// Text as PRIVMSG lines of at most 512 bytes each: split at line breaks and, where too long, at
// UTF-8 character boundaries. An action is wrapped in CTCP ACTION, each line.
void append_privmsg_lines(std::string& out, std::string_view tags, std::string_view source,
                          std::string_view command, std::string_view target, std::string_view text,
                          bool action);

}  // namespace chat::server::irc
