#pragma once
// A client's IRC lines as chat.v1 requests, free of I/O: registration (CAP, NICK, USER, PASS,
// AUTHENTICATE) becomes a Hello, JOIN a Join with the NAMES and history after it, PRIVMSG a Send
// or SendDirect, and so on; what needs no request (PING, MODE, MOTD, CAP, errors in the line
// itself) is answered here with lines. Outputs come out in the order the lines asked for them.
// What the requests were for waits in ClientState::pending for the Renderer.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat.pb.h"
#include "irc_client_state.hpp"
#include "irc_message.hpp"

namespace chat::server::irc {

class Commands {
 public:
  struct Settings {
    std::uint32_t history_on_join = 50;  // messages a guest sees on JOIN
    std::uint32_t catch_up_limit = 500;  // messages a registered user is replayed at most
    // Names a JOIN lists at most: the presence cap, above which rooms send no JOINs and PARTs
    // either (0: all). NAMES and WHO list every member.
    std::uint32_t join_names_limit = 500;
    std::function<std::size_t()> users;  // for LUSERS
  };
  // One thing to do: a request for the session, or lines for the client.
  struct Output {
    bool is_request = false;
    v1::ClientFrame request;
    std::string lines;
  };

  Commands(ClientState& state, Settings settings);

  void handle(const Message& message);
  // A line the reader refused or could not take: answered without a request.
  void line_too_long();
  void line_has_nul();
  // The session delivers an answer: what the client may do next depends on it.
  void on_answer(const v1::ServerFrame& frame);
  // Whether on_answer wants the answer to this request (registration, JOIN, PART, NICK).
  bool watches_answer(std::uint64_t request_id) const;

  bool has_output() const { return !outputs_.empty(); }
  std::uint32_t history_limit() const { return settings_.catch_up_limit; }
  Output take_output();
  // QUIT was read: the client sends nothing more.
  bool quit() const { return quit_; }
  const std::string& quit_message() const { return quit_message_; }

 private:
  void dispatch(const Message& message);
  void label_outputs(const std::string& label);
  void handle_registration(const Message& message);
  void handle_registered(const Message& message);
  void handle_cap(const Message& message);
  void handle_authenticate(const Message& message);
  void try_register();
  void finish_sasl_registration();
  void handle_join(const Message& message);
  void join(const std::string& channel);
  void handle_part(const Message& message);
  void handle_privmsg(const Message& message, bool notice);
  void send_text(const std::string& target, std::string text, bool notice);
  void handle_topic(const Message& message);
  void handle_names(const Message& message, Asked asked);
  void handle_mode(const Message& message);
  void handle_whois(const Message& message);
  void handle_nick(const Message& message);
  // MarkRead for every room (or one) whose messages were shown past its read marker.
  void mark_read(const std::string* only_room = nullptr);

  v1::ClientFrame& request(Asked asked, std::string target, std::string text = {});
  std::string& reply();
  // A numeric to the client; no trailing parameter when it is nullopt.
  void numeric(std::string_view code, std::string_view middle,
               std::optional<std::string_view> trailing);
  // FAIL COMMAND CODE context... :text
  void fail(std::string_view command, std::string_view code,
            std::initializer_list<std::string_view> context, std::string_view text);
  void handle_redact(const Message& message);
  void handle_chathistory(const Message& message);
  void handle_markread(const Message& message);
  void handle_tagmsg(const Message& message);
  void chathistory_targets(const Message& message);
  // A batch of this client's, or "" when the client did not ask for batches.
  std::string new_batch();
  // An empty batch (nothing to show), for a client that takes batches.
  void empty_batch(std::string_view type, std::string_view target);

  ClientState& state_;
  Settings settings_;
  // What the lines read so far asked for. A list: references stay valid while more is added,
  // and an empty one holds no memory (a deque keeps a block), so an idle connection keeps none.
  std::list<Output> outputs_;
  bool user_given_ = false;
  bool nick_given_ = false;
  bool registration_shown_ = false;  // 001 and the rest were sent
  std::string password_;             // PASS, for the Hello
  bool sasl_started_ = false;        // AUTHENTICATE PLAIN: the credentials come next
  std::string sasl_buffer_;          // base64 received so far (400-byte chunks)
  bool quit_ = false;
  std::string quit_message_;
};

}  // namespace chat::server::irc
