#include "irc_commands.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <charconv>

#include "irc_names.hpp"
#include "irc_renderer.hpp"
#include "names.hpp"

namespace chat::server::irc {
namespace {

constexpr std::uint32_t protocol_version = 1;
constexpr std::size_t sasl_chunk_bytes = 400;
// The capabilities CAP LS offers (in this order), each with its flag in Caps.
struct OfferedCap {
  std::string_view name;
  std::string_view value;  // "sasl=PLAIN"
  bool Caps::*flag;
};
constexpr OfferedCap offered_caps[] = {
    {"account-tag", "", &Caps::account_tag},
    {"away-notify", "", &Caps::away_notify},
    {"batch", "", &Caps::batch},
    {"draft/chathistory", "", &Caps::chathistory},
    {"draft/message-redaction", "", &Caps::message_redaction},
    {"draft/read-marker", "", &Caps::read_marker},
    {"echo-message", "", &Caps::echo_message},
    {"extended-join", "", &Caps::extended_join},
    {"labeled-response", "", &Caps::labeled_response},
    {"message-tags", "", &Caps::message_tags},
    {"multi-prefix", "", &Caps::multi_prefix},
    {"sasl", "PLAIN", &Caps::sasl},
    {"server-time", "", &Caps::server_time},
};

// The items of a list separated by sep, empty ones skipped.
std::vector<std::string> split(std::string_view list, char sep) {
  std::vector<std::string> items;
  while (!list.empty()) {
    const auto at = list.find(sep);
    if (at != 0) items.emplace_back(list.substr(0, at));
    if (at == std::string_view::npos) break;
    list.remove_prefix(at + 1);
  }
  return items;
}

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  const auto padding = static_cast<std::size_t>(std::count(text.end() - 2, text.end(), '='));
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

// IRC's formatting codes (bold, colours, ...): chat.v1 text has none, and refuses control
// characters, so they are taken out.
std::string strip_formatting(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\x03') {  // colour: up to two digits, optionally ",NN"
      std::size_t digits = 0;
      while (digits < 2 && i + 1 < text.size() &&
             std::isdigit(static_cast<unsigned char>(text[i + 1])))
        ++i, ++digits;
      if (digits > 0 && i + 2 < text.size() && text[i + 1] == ',' &&
          std::isdigit(static_cast<unsigned char>(text[i + 2]))) {
        i += 2;
        if (i + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1]))) ++i;
      }
      continue;
    }
    if (c == '\x02' || c == '\x0f' || c == '\x11' || c == '\x16' || c == '\x1d' || c == '\x1e' ||
        c == '\x1f')
      continue;
    out += c;
  }
  return out;
}

// A real name, PART or QUIT reason as chat.v1 takes one: no formatting or control characters,
// valid UTF-8 (else none), at most max_bytes cut at a character boundary.
std::string plain_line(std::string_view given, std::size_t max_bytes) {
  std::string text = strip_formatting(given);
  std::erase_if(text, [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
  if (check_text(text, text.size() + 1) != NameProblem::ok) return {};
  text.resize(utf8_cut(text, max_bytes));
  return text;
}

// A CHATHISTORY limit: a positive decimal number.
std::optional<std::uint32_t> parse_limit(std::string_view text) {
  std::uint32_t limit = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), limit);
  if (error != std::errc{} || end != text.data() + text.size() || limit == 0) return std::nullopt;
  return limit;
}

constexpr std::size_t max_real_name_bytes = 128;
constexpr std::size_t max_reason_bytes = 300;

}  // namespace

Commands::Commands(ClientState& state, Settings settings)
    : state_(state), settings_(std::move(settings)) {}

Commands::Output Commands::take_output() {
  Output output = std::move(outputs_.front());
  outputs_.pop_front();
  return output;
}

v1::ClientFrame& Commands::request(Asked asked, std::string target, std::string text) {
  const std::uint64_t id = state_.next_request_id++;
  PendingRequest& pending = state_.pending[id];
  pending.asked = asked;
  pending.target = std::move(target);
  pending.text = std::move(text);
  Output& output = outputs_.emplace_back();
  output.is_request = true;
  output.request.set_request_id(id);
  return output.request;
}

std::string& Commands::reply() {
  if (outputs_.empty() || outputs_.back().is_request) outputs_.emplace_back();
  return outputs_.back().lines;
}

void Commands::numeric(std::string_view code, std::string_view middle,
                       std::optional<std::string_view> trailing) {
  Renderer::append_numeric(reply(), state_, code, state_.welcomed ? state_.nick : "*", middle,
                           trailing);
}

void Commands::fail(std::string_view command, std::string_view code,
                    std::initializer_list<std::string_view> context, std::string_view text) {
  Renderer::append_fail(reply(), state_, command, code, context, text);
}

void Commands::line_too_long() { numeric("417", "", "Input line was too long"); }

void Commands::line_has_nul() { numeric("400", "*", "Lines may not contain NUL bytes"); }

void Commands::handle(const Message& message) {
  const std::string* label = state_.caps.labeled_response ? message.tag("label") : nullptr;
  dispatch(message);
  if (label && !label->empty()) label_outputs(*label);
}

// labeled-response: outputs_ holds what this one line asked for (the codec reads a line only
// once the outputs before it are taken). No response is an ACK, one line carries the label, one
// request's answer is labeled when it is rendered, anything more goes in a labeled-response batch.
void Commands::label_outputs(const std::string& label) {
  std::size_t reply_lines = 0;
  std::vector<PendingRequest*> shown;  // requests whose answers show something
  for (Output& output : outputs_) {
    if (!output.is_request) {
      reply_lines +=
          static_cast<std::size_t>(std::count(output.lines.begin(), output.lines.end(), '\n'));
      continue;
    }
    if (output.request.request_id() == 0) continue;  // Typing: never answered
    PendingRequest& pending = state_.pending[output.request.request_id()];
    if (pending.asked != Asked::silent) shown.push_back(&pending);
  }
  if (shown.empty()) {  // lines of its own only: labeled as an answer's lines are
    std::string lines;
    for (const Output& output : outputs_)
      if (!output.is_request) lines += output.lines;
    outputs_.remove_if([](const Output& output) { return !output.is_request; });
    Renderer::append_labeled(reply(), state_, lines, label);
    return;
  }
  if (shown.size() == 1 && reply_lines == 0) {
    PendingRequest& pending = *shown.front();
    pending.label = label;
    const bool channel_send = pending.asked == Asked::privmsg || pending.asked == Asked::notice;
    if (channel_send && state_.caps.echo_message) {  // the echo responds, before the answer
      for (const Output& output : outputs_) {
        if (output.is_request && output.request.has_send())
          state_.echo_labels.emplace_back(output.request.send().client_msg_id(), label);
      }
    }
    return;
  }
  const std::string batch = std::to_string(state_.next_batch++);
  for (Output& output : outputs_) {
    if (!output.is_request) output.lines = with_tag(output.lines, "batch=" + batch);
  }
  for (PendingRequest* pending : shown) pending->label_batch = batch;
  Output& open = outputs_.emplace_front();
  open.lines = "@label=" + escape_tag_value(label) + " ";
  Renderer::open_batch(open.lines, state_, batch, "labeled-response", "");
  Renderer::close_batch(outputs_.emplace_back().lines, state_, batch);
}

void Commands::dispatch(const Message& message) {
  const std::string& command = message.command;
  if (command == "PING") {
    if (message.params.empty()) return numeric("409", "", "No origin specified");
    LineBuilder(reply(), state_.server_name, "PONG")
        .param(state_.server_name)
        .trailing(message.param(0));
    if (state_.welcomed) mark_read();
    return;
  }
  if (command == "PONG") {
    if (state_.welcomed) mark_read();
    return;
  }
  if (command == "QUIT") {
    if (state_.welcomed) mark_read();
    quit_ = true;
    quit_message_ = plain_line(message.param(0), max_reason_bytes);
    return;
  }
  if (command == "CAP") return handle_cap(message);
  if (!state_.welcomed || state_.cap_negotiating || !registration_shown_)
    return handle_registration(message);
  handle_registered(message);
}

void Commands::handle_cap(const Message& message) {
  const std::string& sub = message.param(0);
  std::string upper(sub);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const std::string nick = state_.welcomed ? state_.nick : "*";
  if (upper == "LS") {
    if (!state_.welcomed) state_.cap_negotiating = true;
    std::string offered;
    for (const OfferedCap& cap : offered_caps) {
      if (!offered.empty()) offered += ' ';
      offered += cap.name;
      if (!cap.value.empty()) offered.append("=").append(cap.value);
    }
    LineBuilder(reply(), state_.server_name, "CAP").param(nick).param("LS").trailing(offered);
    return;
  }
  if (upper == "LIST") {
    std::string enabled;
    for (const OfferedCap& cap : offered_caps) {
      if (!(state_.caps.*cap.flag)) continue;
      if (!enabled.empty()) enabled += ' ';
      enabled += cap.name;
    }
    LineBuilder(reply(), state_.server_name, "CAP").param(nick).param("LIST").trailing(enabled);
    return;
  }
  if (upper == "REQ") {
    if (!state_.welcomed) state_.cap_negotiating = true;
    Caps wanted = state_.caps;
    bool known = true;
    for (const std::string& word : split(message.param(1), ' ')) {
      const bool off = word[0] == '-';
      const std::string_view name = std::string_view(word).substr(off ? 1 : 0);
      const auto cap =
          std::find_if(std::begin(offered_caps), std::end(offered_caps),
                       [&](const OfferedCap& offered) { return offered.name == name; });
      if (cap == std::end(offered_caps)) {
        known = false;
        continue;
      }
      wanted.*cap->flag = !off;
    }
    if (known) state_.caps = wanted;
    LineBuilder(reply(), state_.server_name, "CAP")
        .param(nick)
        .param(known ? "ACK" : "NAK")
        .trailing(message.param(1));
    return;
  }
  if (upper == "END") {
    if (!state_.cap_negotiating) return;
    state_.cap_negotiating = false;
    if (state_.welcomed) return finish_sasl_registration();
    return try_register();
  }
  numeric("410", sub.empty() ? "*" : sub, "Invalid CAP command");
}

void Commands::handle_registration(const Message& message) {
  const std::string& command = message.command;
  if (command == "NICK") {
    if (message.params.empty() || message.param(0).empty())
      return numeric("431", "", "No nickname given");
    nick_given_ = true;
    if (state_.welcomed) return finish_sasl_registration();  // the account's nick stands
    if (const auto problem = check_nick(message.param(0)); problem != NameProblem::ok) {
      return numeric("432", message.param(0),
                     "Erroneous nickname: " + std::string(describe(problem)));
    }
    state_.nick = message.param(0);
    return try_register();
  }
  if (command == "USER") {
    if (message.params.size() < 4) return numeric("461", "USER", "Not enough parameters");
    if (user_given_) return numeric("462", "", "You may not reregister");
    user_given_ = true;
    state_.real_name = plain_line(message.param(3), max_real_name_bytes);
    if (state_.welcomed) return finish_sasl_registration();
    return try_register();
  }
  if (command == "PASS") {
    if (message.params.empty()) return numeric("461", "PASS", "Not enough parameters");
    password_ = message.param(0);
    return;
  }
  if (command == "AUTHENTICATE") return handle_authenticate(message);
  numeric("451", "", "You have not registered");
}

// Logged in by SASL before CAP END: registration ends once CAP END, NICK and USER have all come,
// in whatever order (irssi sends NICK and USER after CAP END).
void Commands::finish_sasl_registration() {
  if (registration_shown_ || state_.cap_negotiating || !nick_given_ || !user_given_) return;
  registration_shown_ = true;
  Renderer::append_welcome(reply(), state_, state_.nick);
}

void Commands::try_register() {
  if (state_.welcomed || state_.cap_negotiating || state_.nick.empty() || !user_given_) return;
  v1::ClientFrame& frame = request(Asked::hello, state_.nick, password_);
  auto* hello = frame.mutable_hello();
  hello->set_protocol_version(protocol_version);
  hello->set_nick(state_.nick);
  hello->set_password(password_);
  hello->set_client_name("irc");
  hello->set_real_name(state_.real_name);
}

void Commands::handle_authenticate(const Message& message) {
  const std::string& data = message.param(0);
  if (!state_.caps.sasl)
    return numeric("904", "", "SASL authentication failed: request sasl first");
  if (state_.welcomed) return numeric("907", "", "You have already authenticated using SASL");
  if (data == "*") {
    sasl_started_ = false;
    sasl_buffer_.clear();
    return numeric("906", "", "SASL authentication aborted");
  }
  if (!sasl_started_) {
    std::string upper(data);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (upper != "PLAIN") {
      numeric("908", "PLAIN", "are available SASL mechanisms");
      return numeric("904", "", "SASL authentication failed");
    }
    sasl_started_ = true;
    reply() += "AUTHENTICATE +\r\n";
    return;
  }
  if (data != "+") sasl_buffer_ += data;
  if (data.size() == sasl_chunk_bytes) return;  // more follows
  sasl_started_ = false;
  const auto decoded = decode_base64(sasl_buffer_);
  sasl_buffer_.clear();
  // authzid \0 authcid \0 password; the account is the authcid (or the authzid if it alone).
  const auto first = decoded ? decoded->find('\0') : std::string::npos;
  const auto second = first == std::string::npos ? first : decoded->find('\0', first + 1);
  if (second == std::string::npos) return numeric("904", "", "SASL authentication failed");
  const std::string account = decoded->substr(first + 1, second - first - 1);
  v1::ClientFrame& frame = request(Asked::sasl_hello, account, "sasl");
  auto* hello = frame.mutable_hello();
  hello->set_protocol_version(protocol_version);
  hello->set_nick(account);
  hello->set_password(decoded->substr(second + 1));
  hello->set_client_name("irc");
  hello->set_real_name(state_.real_name);
  hello->set_require_account(true);
}

bool Commands::watches_answer(std::uint64_t request_id) const {
  const auto found = state_.pending.find(request_id);
  if (found == state_.pending.end()) return false;
  switch (found->second.asked) {
    case Asked::hello:
    case Asked::sasl_hello:
    case Asked::nick:
    case Asked::join:
    case Asked::part:
      return true;
    default:
      return false;
  }
}

void Commands::on_answer(const v1::ServerFrame& frame) {
  auto found = state_.pending.find(frame.request_id());
  if (found == state_.pending.end()) return;
  const PendingRequest& asked = found->second;
  const bool ok = !frame.has_error();
  switch (asked.asked) {
    case Asked::hello:
    case Asked::sasl_hello:
      if (!ok || !frame.has_welcome()) return;
      state_.welcomed = true;
      state_.nick = frame.welcome().nick();
      state_.motd = frame.welcome().motd();
      state_.registered_account = !asked.text.empty();
      if (state_.registered_account) state_.marks = std::make_unique<ClientState::Marks>();
      for (const auto& marker : frame.welcome().read_markers()) {
        if (state_.marks) state_.marks->read_markers[name_key(marker.room())] = marker.seq();
      }
      if (asked.asked == Asked::hello) registration_shown_ = true;  // the renderer shows 001
      return;
    case Asked::nick:
      if (ok) state_.nick = asked.target;
      return;
    case Asked::join:
      if (ok && !state_.is_joined(name_key(room_of(asked.target))))
        state_.joined.push_back(name_key(room_of(asked.target)));
      return;
    case Asked::part:
      if (ok) std::erase(state_.joined, name_key(room_of(asked.target)));
      return;
    default:
      return;
  }
}

void Commands::handle_registered(const Message& message) {
  const std::string& command = message.command;
  if (command == "JOIN") return handle_join(message);
  if (command == "PART") return handle_part(message);
  if (command == "PRIVMSG") return handle_privmsg(message, false);
  if (command == "NOTICE") return handle_privmsg(message, true);
  if (command == "TOPIC") return handle_topic(message);
  if (command == "NAMES") return handle_names(message, Asked::names);
  if (command == "WHO") return handle_names(message, Asked::who);
  if (command == "NICK") return handle_nick(message);
  if (command == "MODE") return handle_mode(message);
  if (command == "WHOIS") return handle_whois(message);
  if (command == "REDACT") return handle_redact(message);
  if (command == "CHATHISTORY") return handle_chathistory(message);
  if (command == "MARKREAD") return handle_markread(message);
  if (command == "LIST") {
    auto* list = request(Asked::list, "").mutable_list_rooms();
    list->set_limit(1000);
    return;
  }
  if (command == "MOTD") return Renderer::append_motd(reply(), state_, state_.nick);
  if (command == "LUSERS") {
    const std::size_t users = settings_.users ? settings_.users() : 0;
    numeric("251", "", fmt::format("There are {} users and 0 invisible on 1 servers", users));
    numeric("255", "", fmt::format("I have {} clients and 0 servers", users));
    return;
  }
  if (command == "AWAY") {
    std::string away = strip_formatting(message.param(0));
    request(Asked::away, "", away).mutable_set_away()->set_message(away);
    return;
  }
  if (command == "USER" || command == "PASS") return numeric("462", "", "You may not reregister");
  if (command == "AUTHENTICATE") return numeric("907", "", "You have already authenticated");
  if (command == "TAGMSG") return handle_tagmsg(message);
  if (command == "USERHOST" || command == "ISON") return;
  numeric("421", command, "Unknown command");
}

void Commands::handle_join(const Message& message) {
  if (message.params.empty()) return numeric("461", "JOIN", "Not enough parameters");
  if (message.param(0) == "0") {
    for (const std::string& room : state_.joined) {
      request(Asked::part, channel_of(room)).mutable_leave()->set_room(room);
    }
    return;
  }
  for (const std::string& channel : split(message.param(0), ',')) join(channel);
}

void Commands::join(const std::string& channel) {
  if (!is_channel(channel) || check_room(room_of(channel)) != NameProblem::ok)
    return numeric("403", channel, "No such channel");
  const std::string room = room_of(channel);
  if (state_.is_joined(name_key(room))) return;  // joined already: nothing to do, as IRC servers do
  auto& asked = request(Asked::join, channel);
  PendingRequest& joining = state_.pending[asked.request_id()];
  joining.history_follows = !state_.caps.chathistory;
  auto* join = asked.mutable_join();
  join->set_room(room);
  std::optional<std::uint64_t> marker;  // the account's read marker here
  if (state_.marks) {
    const auto found = state_.marks->read_markers.find(name_key(room));
    if (found != state_.marks->read_markers.end()) marker = found->second;
  }
  const bool has_marker = marker.has_value();
  if (state_.caps.read_marker && has_marker) {  // MARKREAD needs the time of its message
    auto& marked = request(Asked::join_marker, channel);
    state_.pending[marked.request_id()].after = *marker;
    marked.mutable_history()->set_room(room);
    marked.mutable_history()->set_before_seq(*marker + 1);
    marked.mutable_history()->set_limit(1);
  } else if (state_.caps.read_marker) {
    joining.marker_unknown = true;
  }
  join->set_history(0);  // the history follows the NAMES, as clients expect it
  auto* names = request(Asked::join_names, channel).mutable_who();
  names->set_room(room);
  names->set_limit(settings_.join_names_limit);
  if (state_.caps.chathistory) return;  // such a client asks with CHATHISTORY
  auto* history = request(Asked::join_history, channel).mutable_history();
  history->set_room(room);
  if (has_marker) {
    history->set_after_seq(*marker);  // what was said since the user last read here
    history->set_limit(settings_.catch_up_limit);
  } else {
    history->set_limit(settings_.history_on_join);
  }
}

void Commands::handle_part(const Message& message) {
  if (message.params.empty()) return numeric("461", "PART", "Not enough parameters");
  for (const std::string& channel : split(message.param(0), ',')) {
    if (!is_channel(channel)) {
      numeric("403", channel, "No such channel");
      continue;
    }
    const std::string room = room_of(channel);
    mark_read(&room);
    auto* leave = request(Asked::part, channel).mutable_leave();
    leave->set_room(room);
    leave->set_reason(plain_line(message.param(1), max_reason_bytes));
  }
}

void Commands::handle_privmsg(const Message& message, bool notice) {
  if (message.params.empty() || message.param(0).empty()) {
    if (!notice) numeric("411", "", "No recipient given (" + message.command + ")");
    return;
  }
  if (message.params.size() < 2 || message.param(1).empty()) {
    if (!notice) numeric("412", "", "No text to send");
    return;
  }
  for (const std::string& target : split(message.param(0), ','))
    send_text(target, message.param(1), notice);
}

void Commands::send_text(const std::string& target, std::string text, bool notice) {
  bool action = false;
  if (!text.empty() && text.front() == '\x01') {
    std::string_view ctcp(text);
    ctcp.remove_prefix(1);
    if (!ctcp.empty() && ctcp.back() == '\x01') ctcp.remove_suffix(1);
    if (ctcp.substr(0, 7) != "ACTION ") return;  // other CTCP (VERSION, ...): not carried
    action = true;
    text = std::string(ctcp.substr(7));
  }
  text = strip_formatting(text);
  if (check_text(text, text.size() + 1) == NameProblem::invalid_utf8) {
    if (!notice)
      fail("PRIVMSG", "INVALID_UTF8", {}, "Message rejected, your IRC software MUST use UTF-8");
    return;
  }
  if (is_channel(target)) {
    const std::string room = room_of(target);
    mark_read(&room);
    const std::uint64_t id = state_.next_request_id;
    auto* send = request(notice ? Asked::notice : Asked::privmsg, target).mutable_send();
    send->set_room(room);
    send->set_text(std::move(text));
    send->set_client_msg_id(id);
    send->set_action(action);
    send->set_notice(notice);
    return;
  }
  const std::uint64_t id = state_.next_request_id;
  auto& asked = request(notice ? Asked::direct_notice : Asked::direct, target, text);
  state_.pending[asked.request_id()].action = action;  // for the echo
  auto* send = asked.mutable_send_direct();
  send->set_to(target);
  send->set_text(std::move(text));
  send->set_client_msg_id(id);
  send->set_action(action);
  send->set_notice(notice);
}

void Commands::handle_topic(const Message& message) {
  if (message.params.empty()) return numeric("461", "TOPIC", "Not enough parameters");
  const std::string& channel = message.param(0);
  if (!is_channel(channel)) return numeric("403", channel, "No such channel");
  if (message.params.size() < 2) {  // a query: the room's entry in the room list says it
    auto* list = request(Asked::topic, channel).mutable_list_rooms();
    list->set_prefix(room_of(channel));
    list->set_limit(1);
    return;
  }
  auto* topic = request(Asked::topic, channel).mutable_set_topic();
  topic->set_room(room_of(channel));
  topic->set_topic(strip_formatting(message.param(1)));
}

void Commands::handle_names(const Message& message, Asked asked) {
  const char* end_code = asked == Asked::who ? "315" : "366";
  const char* end_text = asked == Asked::who ? "End of WHO list" : "End of /NAMES list";
  if (message.params.empty()) return numeric(end_code, "*", end_text);
  for (const std::string& target : split(message.param(0), ',')) {
    if (!is_channel(target)) {
      if (asked == Asked::who && target == state_.nick) {
        numeric("352", fmt::format("* {} chat {} {} H", target, state_.server_name, target),
                "0 " + target);
      }
      numeric(end_code, target, end_text);
      continue;
    }
    request(asked, target).mutable_who()->set_room(room_of(target));
  }
}

void Commands::handle_mode(const Message& message) {
  if (message.params.empty()) return numeric("461", "MODE", "Not enough parameters");
  const std::string& target = message.param(0);
  if (is_channel(target)) {
    if (message.params.size() == 1) return numeric("324", target + " +nt", std::nullopt);
    const std::string& modes = message.param(1);
    if (modes == "b" || modes == "+b") return numeric("368", target, "End of channel ban list");
    return numeric("482", target, "Channel modes cannot be changed here");
  }
  if (name_key(target) != name_key(state_.nick))
    return numeric("502", "", "Can't change mode for other users");
  if (message.params.size() == 1) return numeric("221", "+i", std::nullopt);
  // Every user is +i already (clients set it on connect): that is acknowledged, nothing else is.
  if (message.param(1).find_first_not_of("+i") == std::string::npos) {
    LineBuilder(reply(), source_of(state_.nick), "MODE").param(state_.nick).trailing("+i");
    return;
  }
  numeric("501", "", "Unknown MODE flag");
}

void Commands::handle_whois(const Message& message) {
  if (message.params.empty()) return numeric("431", "", "No nickname given");
  const std::string& nick = message.params.back();  // WHOIS [server] nick
  request(Asked::whois, nick).mutable_whois()->set_nick(nick);
}

// REDACT #channel msgid [:reason]: the chat.v1 Delete of that message (only its sender may).
void Commands::handle_redact(const Message& message) {
  if (message.params.size() < 2) return numeric("461", "REDACT", "Not enough parameters");
  const std::string& channel = message.param(0);
  const std::string& msgid = message.param(1);
  const auto seq = is_channel(channel) ? seq_of_msgid(msgid, room_of(channel)) : std::nullopt;
  if (!seq) {
    return fail("REDACT", "UNKNOWN_MSGID", {channel, msgid},
                "This message does not exist or is too old");
  }
  auto* remove = request(Asked::redact, channel, msgid).mutable_delete_();
  remove->set_room(room_of(channel));
  remove->set_seq(*seq);
}

void Commands::empty_batch(std::string_view type, std::string_view target) {
  const std::string batch = new_batch();
  Renderer::open_batch(reply(), state_, batch, type, target);
  Renderer::close_batch(reply(), state_, batch);
}

std::string Commands::new_batch() {
  return state_.caps.batch ? std::to_string(state_.next_batch++) : std::string();
}

// CHATHISTORY <subcommand> <target> <reference> [<reference>] <limit> (IRCv3 draft/chathistory):
// a History request. References are msgids ("msgid=SEQ/ROOM"; MSGREFTYPES=msgid), or "*" for
// LATEST; the bounds a History position cannot say are kept for the renderer to apply.
void Commands::handle_chathistory(const Message& message) {
  std::string sub = message.param(0);
  std::transform(sub.begin(), sub.end(), sub.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (sub == "TARGETS") return chathistory_targets(message);
  const bool between = sub == "BETWEEN";
  if (sub != "LATEST" && sub != "BEFORE" && sub != "AFTER" && sub != "AROUND" && !between)
    return fail("CHATHISTORY", "UNKNOWN_COMMAND", {message.param(0)}, "Unknown command");
  if (message.params.size() < (between ? 5u : 4u))
    return fail("CHATHISTORY", "NEED_MORE_PARAMS", {sub}, "Missing parameters");
  const std::string& target = message.param(1);
  const std::string& limit_text = message.param(between ? 4 : 3);
  const auto asked_limit = parse_limit(limit_text);
  if (!asked_limit)
    return fail("CHATHISTORY", "INVALID_PARAMS", {sub, limit_text}, "Invalid limit");
  const std::uint32_t limit = std::min(*asked_limit, state_.history_limit);
  // Direct messages are not kept: there is never anything to show.
  if (!is_channel(target)) return empty_batch("chathistory", target);
  const std::string room = room_of(target);
  // The sequence a reference names; 0 for "*", nullopt when it names none of the room's.
  auto reference = [&](const std::string& text) -> std::optional<std::uint64_t> {
    if (text == "*" && sub == "LATEST") return 0;
    if (text.rfind("msgid=", 0) != 0) return std::nullopt;
    return seq_of_msgid(std::string_view(text).substr(6), room);
  };
  const auto first = reference(message.param(2));
  const auto second = between ? reference(message.param(3)) : std::optional<std::uint64_t>(0);
  if (!first || !second) {
    const std::string& bad = first ? message.param(3) : message.param(2);
    return fail("CHATHISTORY", "INVALID_PARAMS", {sub, bad},
                "A message reference must be * or msgid= one of the room's msgids");
  }
  const std::string batch = new_batch();
  auto& asked = request(Asked::chathistory, target, sub);
  PendingRequest& pending = state_.pending[asked.request_id()];
  pending.batch = batch;
  pending.opens_batch = pending.closes_batch = true;
  auto* history = asked.mutable_history();
  history->set_room(room);
  history->set_limit(limit);
  const std::uint64_t at = *first;
  if (sub == "LATEST") {
    history->set_latest(true);
    pending.after = at;
  } else if (sub == "BEFORE") {
    history->set_before_seq(at);
  } else if (sub == "AFTER") {
    history->set_after_seq(at);
  } else if (sub == "AROUND") {
    history->set_after_seq(at > limit / 2 ? at - limit / 2 - 1 : 0);
  } else if (at <= *second) {  // BETWEEN, forwards: the oldest after the first
    history->set_after_seq(at);
    pending.before = *second;
  } else {  // BETWEEN, backwards: the newest before the first
    history->set_before_seq(at);
    pending.after = *second;
  }
}

// CHATHISTORY TARGETS <timestamp> <timestamp> <limit>: the joined channels whose latest message
// is between the two times, each asked for its latest message.
void Commands::chathistory_targets(const Message& message) {
  if (message.params.size() < 4)
    return fail("CHATHISTORY", "NEED_MORE_PARAMS", {"TARGETS"}, "Missing parameters");
  auto time_of = [](const std::string& text) -> std::optional<std::int64_t> {
    if (text.rfind("timestamp=", 0) != 0) return std::nullopt;
    return parse_iso_time(std::string_view(text).substr(10));
  };
  const auto from = time_of(message.param(1));
  const auto to = time_of(message.param(2));
  const auto limit = parse_limit(message.param(3));
  if (!from || !to || !limit) {
    return fail("CHATHISTORY", "INVALID_PARAMS", {"TARGETS"},
                "TARGETS takes two timestamp= times and a limit");
  }
  if (state_.joined.empty()) return empty_batch("draft/chathistory-targets", "");
  const std::string batch = new_batch();
  std::vector<std::string> rooms(state_.joined.begin(), state_.joined.end());
  std::sort(rooms.begin(), rooms.end());
  for (std::size_t i = 0; i < rooms.size(); ++i) {
    auto& asked = request(Asked::chathistory_targets, channel_of(rooms[i]));
    PendingRequest& pending = state_.pending[asked.request_id()];
    pending.batch = batch;
    pending.opens_batch = i == 0;
    pending.closes_batch = i + 1 == rooms.size();
    pending.after = static_cast<std::uint64_t>(std::min(*from, *to));
    pending.before = static_cast<std::uint64_t>(std::max(*from, *to));
    pending.limit = *limit;
    auto* history = asked.mutable_history();
    history->set_room(rooms[i]);
    history->set_latest(true);
    history->set_limit(1);
  }
}

// MARKREAD <target> [timestamp=...] (draft/read-marker): the read marker of a joined channel,
// kept for accounts as chat.v1's MarkRead. A timestamp names the last message shown at or before
// it; the answer is the marker as it then is (it never moves back).
void Commands::handle_markread(const Message& message) {
  if (message.params.empty()) return fail("MARKREAD", "NEED_MORE_PARAMS", {}, "Missing parameters");
  const std::string& target = message.param(0);
  if (!is_channel(target)) {  // direct messages have no read markers
    LineBuilder(reply(), state_.server_name, "MARKREAD").param(target).param("*").end();
    return;
  }
  const std::string room = room_of(target);
  if (!state_.is_joined(name_key(room)))
    return fail("MARKREAD", "INVALID_PARAMS", {target}, "You are not on that channel");
  // What was shown so far (a timestamp can only name a message the client was shown).
  static const Channel none;
  const Channel* found = state_.find_channel(room);
  const Channel& shown = found ? *found : none;
  if (message.params.size() > 1 && state_.marks) {
    const std::string& stamp = message.param(1);
    const auto at = stamp.rfind("timestamp=", 0) == 0
                        ? parse_iso_time(std::string_view(stamp).substr(10))
                        : std::nullopt;
    if (!at) return fail("MARKREAD", "INVALID_PARAMS", {stamp}, "Invalid timestamp");
    std::uint64_t seq = 0;
    std::int64_t seq_ms = 0;
    for (const auto& [shown_seq, shown_ms] : shown.shown_times) {
      if (shown_ms > *at) break;
      seq = shown_seq;
      seq_ms = shown_ms;
    }
    if (seq > shown.marker_seq) {
      auto& asked = request(Asked::markread_set, target, iso_time(seq_ms));
      state_.pending[asked.request_id()].after = seq;
      asked.mutable_mark_read()->set_room(room);
      asked.mutable_mark_read()->set_seq(seq);
      state_.marks->read_markers[name_key(room)] = seq;
      return;
    }
  } else if (message.params.size() > 1) {
    return fail("MARKREAD", "INTERNAL_ERROR", {target},
                "Read markers are kept for registered accounts only");
  }
  request(Asked::markread_get, target).mutable_ping()->set_nonce(0);
}

// TAGMSG #channel with +typing=active is chat.v1's Typing (never answered); other client tags and
// typing states (paused, done) have nothing to carry them.
void Commands::handle_tagmsg(const Message& message) {
  const std::string* typing = message.tag("+typing");
  const std::string& target = message.param(0);
  if (!typing || *typing != "active" || !is_channel(target)) return;
  Output& output = outputs_.emplace_back();  // no request id: Typing is never answered
  output.is_request = true;
  output.request.mutable_typing()->set_room(room_of(target));
}

void Commands::handle_nick(const Message& message) {
  if (message.params.empty() || message.param(0).empty())
    return numeric("431", "", "No nickname given");
  const std::string& nick = message.param(0);
  if (nick == state_.nick) return;
  request(Asked::nick, nick).mutable_set_nick()->set_nick(nick);
}

void Commands::mark_read(const std::string* only_room) {
  if (!state_.marks) return;            // read markers are kept for accounts only
  if (state_.caps.read_marker) return;  // the client says what was read (MARKREAD)
  for (const auto& [room, seq] : state_.marks->delivered) {
    if (only_room && name_key(room) != name_key(*only_room)) continue;
    const std::string key = name_key(room);
    if (!state_.is_joined(key)) continue;
    auto& marked = state_.marks->marked[key];
    if (seq <= marked) continue;
    marked = seq;
    state_.marks->read_markers[key] = seq;
    auto* mark = request(Asked::silent, "").mutable_mark_read();
    mark->set_room(room);
    mark->set_seq(seq);
  }
}

}  // namespace chat::server::irc
