#include "irc_renderer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <ctime>

#include "irc_message.hpp"
#include "irc_names.hpp"
#include "names.hpp"

namespace chat::server::irc {
namespace {

constexpr std::size_t max_line_bytes = 510;  // without CR LF
constexpr std::size_t names_line_budget = 400;

// The nick in the source of an untagged line (":nick!...").
std::string_view source_nick(std::string_view lines) {
  const auto bang = lines.find('!');
  return lines.empty() || bang == std::string_view::npos ? std::string_view{}
                                                         : lines.substr(1, bang - 1);
}

}  // namespace

std::string iso_time(std::int64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900,
                     utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                     unix_ms % 1000);
}

std::optional<std::int64_t> parse_iso_time(std::string_view text) {
  std::tm utc{};
  int millis = 0;
  auto number = [&](std::size_t at, std::size_t digits, int& value) {
    if (text.size() < at + digits) return false;
    const auto [end, error] = std::from_chars(text.data() + at, text.data() + at + digits, value);
    return error == std::errc{} && end == text.data() + at + digits;
  };
  const bool fields =
      number(0, 4, utc.tm_year) && text.substr(4, 1) == "-" && number(5, 2, utc.tm_mon) &&
      text.substr(7, 1) == "-" && number(8, 2, utc.tm_mday) && text.substr(10, 1) == "T" &&
      number(11, 2, utc.tm_hour) && text.substr(13, 1) == ":" && number(14, 2, utc.tm_min) &&
      text.substr(16, 1) == ":" && number(17, 2, utc.tm_sec);
  if (!fields) return std::nullopt;
  std::string_view rest = text.substr(19);
  if (rest.size() == 5 && rest[0] == '.') {
    if (!number(20, 3, millis)) return std::nullopt;
    rest.remove_prefix(4);
  }
  if (rest != "Z" || utc.tm_mon < 1 || utc.tm_mon > 12 || utc.tm_mday < 1 || utc.tm_mday > 31 ||
      utc.tm_hour > 23 || utc.tm_min > 59 || utc.tm_sec > 60)
    return std::nullopt;
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&utc)) * 1000 + millis;
}

void append_privmsg_lines(std::string& out, std::string_view tags, std::string_view source,
                          std::string_view command, std::string_view target, std::string_view text,
                          bool action) {
  const std::size_t overhead = 1 + source.size() + 1 + command.size() + 1 + target.size() + 2 +
                               (action ? 9 : 0);  // ":src CMD target :" and "\1ACTION " "\1"
  const std::size_t room = overhead < max_line_bytes ? max_line_bytes - overhead : 1;
  auto one = [&](std::string_view part) {
    out.append(tags);
    LineBuilder(out, source, command)
        .param(target)
        .trailing(action ? "\x01"
                           "ACTION " +
                               std::string(part) + "\x01"
                         : std::string(part));
  };
  do {
    const auto newline = text.find('\n');
    std::string_view paragraph = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    if (!paragraph.empty() && paragraph.back() == '\r') paragraph.remove_suffix(1);
    if (paragraph.empty()) continue;  // an IRC line cannot be empty
    while (!paragraph.empty()) {
      const std::size_t cut = utf8_cut(paragraph, room);
      one(paragraph.substr(0, cut));
      paragraph.remove_prefix(cut);
    }
  } while (!text.empty());
}

std::string room_message_lines(const v1::RoomMessage& message) {
  // The account tag last: clients without account-tag get the line cut before it.
  std::string tags = "@time=" + iso_time(message.server_time_ms()) +
                     ";msgid=" + escape_tag_value(msgid_of(message.seq(), message.room()));
  if (message.account()) tags += ";account=" + escape_tag_value(message.from());
  tags += ' ';
  std::string out;
  append_privmsg_lines(out, tags, source_of(message.from()),
                       message.notice() ? "NOTICE" : "PRIVMSG", channel_of(message.room()),
                       message.text(), message.action());
  return out;
}

std::string Renderer::numeric(const ClientState& state, std::string_view code,
                              std::string_view nick) {
  return fmt::format(":{} {} {}", state.server_name, code, nick.empty() ? "*" : nick);
}

void Renderer::append_numeric(std::string& out, const ClientState& state, std::string_view code,
                              std::string_view nick, std::string_view middle,
                              std::optional<std::string_view> trailing) {
  out += numeric(state, code, nick);
  if (!middle.empty()) {
    out += ' ';
    out += middle;
  }
  if (trailing) {
    out += " :";
    out += *trailing;
  }
  out += "\r\n";
}

void Renderer::append_fail(std::string& out, const ClientState& state, std::string_view command,
                           std::string_view code, std::initializer_list<std::string_view> context,
                           std::string_view description) {
  LineBuilder line(out, state.server_name, "FAIL");
  line.param(command).param(code);
  for (const std::string_view value : context) line.param(value);
  line.trailing(description);
}

void Renderer::fail(std::string& out, const v1::Error& error, std::string_view target) const {
  append_fail(out, state_, "PRIVMSG", v1::Error::Code_Name(error.code()), {target},
              error.message());
}

void Renderer::notice(std::string& out, std::string_view target, std::string_view text) const {
  LineBuilder(out, state_.server_name, "NOTICE").param(target).trailing(text);
}

void Renderer::append_welcome(std::string& out, const ClientState& state, std::string_view nick) {
  const std::string& server = state.server_name;
  auto numeric_line = [&](std::string_view code, std::string_view rest) {
    out += numeric(state, code, nick);
    out += ' ';
    out += rest;
    out += "\r\n";
  };
  numeric_line("001", fmt::format(":Welcome to the {} chat network, {}", server, nick));
  numeric_line("002", fmt::format(":Your host is {}, running chat-server", server));
  numeric_line("003", ":This server keeps every room's history");
  numeric_line("004", fmt::format("{} chat-server i nt", server));
  numeric_line("005", fmt::format("CASEMAPPING=ascii CHANTYPES=# CHANNELLEN=65 NICKLEN=32 "
                                  "TOPICLEN=4096 PREFIX=() CHANMODES=,,,nt NETWORK={} UTF8ONLY "
                                  "CHATHISTORY={} MSGREFTYPES=msgid :are supported by this server",
                                  server, state.history_limit));
  append_motd(out, state, nick);
}

void Renderer::append_motd(std::string& out, const ClientState& state, std::string_view nick) {
  if (state.motd.empty()) {
    out += numeric(state, "422", nick) + " :MOTD File is missing\r\n";
    return;
  }
  out += numeric(state, "375", nick) + " :- " + state.server_name + " Message of the day -\r\n";
  std::string_view motd = state.motd;
  while (!motd.empty()) {
    const auto newline = motd.find('\n');
    out += numeric(state, "372", nick) + " :- " + std::string(motd.substr(0, newline)) + "\r\n";
    motd = newline == std::string_view::npos ? std::string_view{} : motd.substr(newline + 1);
  }
  out += numeric(state, "376", nick) + " :End of /MOTD command.\r\n";
}

void Renderer::render(std::string& out, const EncodedFrame& frame) {
  if (frame.wire_ready) {
    out.append(frame.bytes);
    return;
  }
  if (frame.priority == FramePriority::chat) return render_room_message(out, frame);
  v1::ServerFrame message;
  const std::string_view body = frame_body(frame);
  if (!message.ParseFromArray(body.data(), static_cast<int>(body.size()))) return;
  render_frame(out, message);
}

void select_tags(std::string& out, std::string_view lines, TagSelection selection,
                 std::string_view batch) {
  const bool all = selection == TagSelection::all || selection == TagSelection::all_but_account;
  const bool time = selection == TagSelection::time || selection == TagSelection::time_account;
  const bool with_account = selection == TagSelection::all ||
                            selection == TagSelection::time_account ||
                            selection == TagSelection::account;
  while (!lines.empty()) {
    const auto end = lines.find('\n') + 1;
    std::string_view one = lines.substr(0, end);
    lines.remove_prefix(end);
    // The line's tags ("@time=...;msgid=...[;account=...] ").
    const auto space = one.find(' ');
    std::string_view tags = one.substr(1, space - 1);
    one.remove_prefix(space + 1);
    std::string_view account;
    if (const auto at = tags.find(";account="); at != std::string_view::npos) {
      if (with_account) account = tags.substr(at + 1);
      tags = tags.substr(0, at);
    }
    if (!all) tags = time ? tags.substr(0, tags.find(';')) : "";
    char separator = '@';
    auto add = [&](std::string_view first, std::string_view second = {}) {
      if (first.empty()) return;
      out += separator;
      out.append(first).append(second);
      separator = ';';
    };
    if (!batch.empty()) add("batch=", batch);
    add(tags);
    add(account);
    if (separator == ';') out += ' ';
    out.append(one);
  }
}

TagSelection Renderer::tag_selection() const {
  const Caps& caps = state_.caps;
  if (caps.message_tags)
    return caps.account_tag ? TagSelection::all : TagSelection::all_but_account;
  if (caps.server_time) return caps.account_tag ? TagSelection::time_account : TagSelection::time;
  return caps.account_tag ? TagSelection::account : TagSelection::none;
}

void Renderer::append_live(std::string& out, const EncodedFrame& frame) const {
  const auto& lines = frame.irc_lines;
  if (!state_.caps.echo_message &&
      source_nick(lines[static_cast<std::size_t>(TagSelection::none)]) == state_.shown_nick)
    return;
  out += lines[static_cast<std::size_t>(tag_selection())];
}

void Renderer::append_for_client(std::string& out, std::string_view lines,
                                 std::string_view batch) const {
  select_tags(out, lines, tag_selection(), batch);
}

void Renderer::open_batch(std::string& out, const ClientState& state, std::string_view id,
                          std::string_view type, std::string_view target) {
  if (id.empty()) return;
  LineBuilder line(out, state.server_name, "BATCH");
  line.param(batch_marker('+', id)).param(type);
  if (!target.empty()) line.param(target);
  line.end();
}

void Renderer::close_batch(std::string& out, const ClientState& state, std::string_view id) {
  if (!id.empty()) LineBuilder(out, state.server_name, "BATCH").param(batch_marker('-', id)).end();
}

void Renderer::render_room_message(std::string& out, const EncodedFrame& frame) {
  std::call_once(frame.irc_once, [&] {
    v1::ServerFrame message;
    const std::string_view body = frame_body(frame);
    std::string all;
    if (message.ParseFromArray(body.data(), static_cast<int>(body.size())) &&
        message.has_room_message())
      all = room_message_lines(message.room_message());
    // Every client takes one of these whole: the tags are chosen once per message.
    frame.irc_lines.resize(tag_selections);
    for (std::size_t i = 0; i < tag_selections; ++i)
      select_tags(frame.irc_lines[i], all, static_cast<TagSelection>(i), {});
  });
  if (frame.irc_lines.front().empty()) return;
  auto found = state_.channels.find(frame.room);
  if (found != state_.channels.end()) {
    Channel& channel = found->second;
    if (channel.catching_up) {
      std::string held;
      append_live(held, frame);
      channel.held.emplace_back(frame.seq, std::move(held));
      remember_shown(channel, frame.seq, frame.irc_lines.front());
      return;
    }
    if (frame.seq <= channel.shown_seq) return;
    channel.shown_seq = frame.seq;
    remember_shown(channel, frame.seq, frame.irc_lines.front());
  }
  if (state_.marks) state_.marks->delivered[frame.room] = frame.seq;  // for read markers
  const std::string& untagged = frame.irc_lines[static_cast<std::size_t>(TagSelection::none)];
  if (!state_.echo_labels.empty() && source_nick(untagged) == state_.shown_nick) {
    v1::ServerFrame message;  // the client's own message: is it the response to a labeled line?
    const std::string_view body = frame_body(frame);
    if (message.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      auto label = std::find_if(state_.echo_labels.begin(), state_.echo_labels.end(),
                                [id = message.room_message().client_msg_id()](const auto& entry) {
                                  return entry.first == id;
                                });
      if (label != state_.echo_labels.end()) {
        std::string lines;
        append_live(lines, frame);
        append_labeled(out, state_, lines, label->second);
        state_.echo_labels.erase(label);
        return;
      }
    }
  }
  append_live(out, frame);
}

void Renderer::render_frame(std::string& out, const v1::ServerFrame& frame) {
  if (frame.request_id() != 0) {
    auto found = state_.pending.find(frame.request_id());
    if (found != state_.pending.end()) {
      const PendingRequest asked = std::move(found->second);
      state_.pending.erase(found);
      if (state_.pending.empty()) decltype(state_.pending)().swap(state_.pending);  // its buckets
      if (asked.label.empty() && asked.label_batch.empty()) return render_answer(out, frame, asked);
      std::string lines;
      render_answer(lines, frame, asked);
      if (!asked.label_batch.empty()) {
        out += with_tag(lines, "batch=" + asked.label_batch);
        return;
      }
      const bool echo_awaited = std::erase_if(state_.echo_labels, [&](const auto& entry) {
                                  return entry.first == frame.request_id();
                                }) > 0;
      const bool channel_send = asked.asked == Asked::privmsg || asked.asked == Asked::notice;
      if (lines.empty() && channel_send && state_.caps.echo_message && !echo_awaited)
        return;  // the echo was the response, with the label
      return append_labeled(out, state_, lines, asked.label);
    }
  }
  render_event(out, frame);
}

void Renderer::append_labeled(std::string& out, ClientState& state, std::string_view lines,
                              std::string_view label) {
  const std::string tag = "label=" + escape_tag_value(label);
  const auto count = std::count(lines.begin(), lines.end(), '\n');
  if (count == 0) {
    out += "@" + tag + " :" + state.server_name + " ACK\r\n";
  } else if (count == 1) {
    out += with_tag(lines, tag);
  } else {
    const std::string batch = std::to_string(state.next_batch++);
    out += "@" + tag + " ";
    open_batch(out, state, batch, "labeled-response", "");
    out += with_tag(lines, "batch=" + batch);
    close_batch(out, state, batch);
  }
}

void Renderer::append_markread(std::string& out, std::string_view channel,
                               const Channel* marked) const {
  LineBuilder(out, state_.server_name, "MARKREAD")
      .param(channel)
      .param(marked ? "timestamp=" + iso_time(marked->marker_ms) : std::string("*"))
      .end();
}

void Renderer::remember_shown(Channel& channel, std::uint64_t seq, std::string_view lines) const {
  if (!state_.caps.read_marker || !state_.marks) return;
  constexpr std::size_t kept = 1024;  // a MARKREAD names one of the last messages shown
  const auto at = lines.size() > 30 && lines.substr(0, 6) == "@time="
                      ? parse_iso_time(lines.substr(6, 24))
                      : std::nullopt;
  if (!at) return;
  auto& times = channel.shown_times;
  const auto place = std::upper_bound(times.begin(), times.end(), std::make_pair(seq, *at));
  times.insert(place, {seq, *at});
  if (times.size() > kept) times.erase(times.begin(), times.begin() + kept / 2);
}

void Renderer::render_answer(std::string& out, const v1::ServerFrame& frame,
                             const PendingRequest& asked) {
  switch (frame.payload_case()) {
    case v1::ServerFrame::kError:
      return render_error(out, frame.error(), asked);
    case v1::ServerFrame::kWelcome:
      return render_welcome(out, frame.welcome(), asked.asked);
    case v1::ServerFrame::kJoinReply:
      render_joined(out, frame.join_reply(), asked.history_follows);
      if (asked.marker_unknown)
        append_markread(out, channel_of(frame.join_reply().room()), nullptr);
      return;
    case v1::ServerFrame::kMemberList:
      return render_members(out, frame.member_list(), asked.asked);
    case v1::ServerFrame::kHistoryReply:
      return render_history(out, frame.history_reply(), asked);
    case v1::ServerFrame::kRoomList:
      return render_rooms(out, frame.room_list(), asked);
    case v1::ServerFrame::kOk:
    case v1::ServerFrame::kAck:
      return render_ok(out, asked);
    case v1::ServerFrame::kUserInfo:
      return render_whois(out, frame.user_info());
    case v1::ServerFrame::kPong:
      if (asked.asked == Asked::markread_get) {
        const Channel* channel = state_.find_channel(room_of(asked.target));
        return append_markread(out, asked.target,
                               channel && channel->marker_seq ? channel : nullptr);
      }
      return;
    default:
      return;
  }
}

void Renderer::render_welcome(std::string& out, const v1::Welcome& welcome, Asked asked) {
  state_.shown_nick = welcome.nick();
  if (asked == Asked::sasl_hello) {
    const std::string& nick = welcome.nick();
    line(out, "900", fmt::format("{} {}", source_of(nick), nick),
         "You are now logged in as " + nick);
    line(out, "903", "", "SASL authentication successful");
    return;  // 001 and the rest follow CAP END
  }
  append_welcome(out, state_, welcome.nick());
}

void Renderer::render_joined(std::string& out, const v1::JoinReply& reply, bool history_follows) {
  const std::string channel = channel_of(reply.room());
  append_join(out, state_.shown_nick, channel, state_.registered_account, state_.real_name);
  if (!reply.topic().empty()) line(out, "332", channel, reply.topic());
  Channel& shown = state_.channels[reply.room()];
  shown = Channel{};
  shown.catching_up = history_follows;  // until the history asked after the JOIN is shown
}

void Renderer::render_members(std::string& out, const v1::MemberList& list, Asked asked) {
  const std::string channel = channel_of(list.room());
  if (asked == Asked::who) {
    for (const std::string& nick : list.nicks()) {
      line(out, "352", fmt::format("{} {} chat {} {} H", channel, nick, state_.server_name, nick),
           "0 " + nick);
    }
    line(out, "315", channel, "End of WHO list");
    return;
  }
  std::string names;
  for (const std::string& nick : list.nicks()) {
    if (names.size() + nick.size() > names_line_budget) {
      line(out, "353", "= " + channel, names);
      names.clear();
    }
    if (!names.empty()) names += ' ';
    names += nick;
  }
  if (!names.empty()) line(out, "353", "= " + channel, names);
  line(out, "366", channel, "End of /NAMES list");
  if (list.member_count() > static_cast<std::uint32_t>(list.nicks_size())) {
    notice(out, channel,
           fmt::format("{} members: {} are listed, and joins and parts are not shown in a room "
                       "this large (NAMES lists everyone)",
                       list.member_count(), list.nicks_size()));
  }
}

void Renderer::render_history(std::string& out, const v1::HistoryReply& reply,
                              const PendingRequest& asked) {
  switch (asked.asked) {
    case Asked::chathistory:
      return render_chathistory(out, reply, asked);
    case Asked::chathistory_targets:
      return render_target(out, reply.messages().empty() ? nullptr : &*reply.messages().rbegin(),
                           asked);
    case Asked::join_marker: {
      Channel* channel = state_.find_channel(reply.room());
      const bool found =
          channel && !reply.messages().empty() && reply.messages().rbegin()->seq() == asked.after;
      if (found) {
        channel->marker_seq = asked.after;
        channel->marker_ms = reply.messages().rbegin()->server_time_ms();
      }
      return append_markread(out, channel_of(reply.room()), found ? channel : nullptr);
    }
    default:
      return render_join_history(out, reply);
  }
}

void Renderer::render_chathistory(std::string& out, const v1::HistoryReply& reply,
                                  const PendingRequest& asked) {
  open_batch(out, state_, asked.batch, "chathistory", channel_of(reply.room()));
  for (const v1::RoomMessage& message : reply.messages()) {
    if (message.deleted() || message.seq() <= asked.after || message.seq() >= asked.before)
      continue;
    append_for_client(out, room_message_lines(message), asked.batch);
  }
  close_batch(out, state_, asked.batch);
}

void Renderer::render_target(std::string& out, const v1::RoomMessage* latest,
                             const PendingRequest& asked) {
  if (asked.opens_batch) {
    state_.targets_found = std::make_unique<std::vector<std::pair<std::int64_t, std::string>>>();
  }
  auto& found = *state_.targets_found;
  if (latest) {
    const auto at = static_cast<std::uint64_t>(latest->server_time_ms());
    if (at > asked.after && at < asked.before)
      found.emplace_back(latest->server_time_ms(), channel_of(latest->room()));
  }
  if (!asked.closes_batch) return;
  std::sort(found.begin(), found.end());
  if (found.size() > asked.limit) found.resize(asked.limit);
  open_batch(out, state_, asked.batch, "draft/chathistory-targets", "");
  for (const auto& [at, channel] : found) {
    if (!asked.batch.empty()) out.append("@batch=").append(asked.batch).append(" ");
    LineBuilder(out, state_.server_name, "CHATHISTORY")
        .param("TARGETS")
        .param(channel)
        .param("timestamp=" + iso_time(at))
        .end();
  }
  close_batch(out, state_, asked.batch);
  state_.targets_found.reset();
}

void Renderer::render_join_history(std::string& out, const v1::HistoryReply& reply) {
  auto found = state_.channels.find(reply.room());
  if (found == state_.channels.end()) return;
  Channel& channel = found->second;
  const std::string name = channel_of(reply.room());
  if (reply.has_gap() && reply.gap().to_seq() >= reply.gap().from_seq()) {
    notice(out, name,
           fmt::format("messages {} to {} are no longer kept", reply.gap().from_seq(),
                       reply.gap().to_seq()));
  }
  if (reply.has_more())
    notice(out, name, "earlier messages are not shown here: ask with CHATHISTORY");
  std::string batch;  // a chathistory batch for a client that takes batches
  for (const v1::RoomMessage& message : reply.messages()) {
    if (message.deleted() || message.seq() <= channel.shown_seq) continue;
    if (state_.caps.batch && batch.empty()) {
      batch = std::to_string(state_.next_batch++);
      open_batch(out, state_, batch, "chathistory", name);
    }
    channel.shown_seq = message.seq();
    const std::string lines = room_message_lines(message);
    remember_shown(channel, message.seq(), lines);
    append_for_client(out, lines, batch);
  }
  close_batch(out, state_, batch);
  for (auto& [seq, lines] : channel.held) {
    if (seq <= channel.shown_seq) continue;
    channel.shown_seq = seq;
    out += lines;
  }
  channel.held.clear();
  channel.catching_up = false;
  if (channel.shown_seq > 0 && state_.marks)
    state_.marks->delivered[reply.room()] = channel.shown_seq;
}

void Renderer::render_rooms(std::string& out, const v1::RoomList& list,
                            const PendingRequest& asked) {
  if (asked.asked == Asked::topic) {  // TOPIC #room: the room's entry in a one-room list
    for (const v1::RoomInfo& room : list.rooms()) {
      if (channel_of(room.room()) != asked.target && room.room() != room_of(asked.target)) continue;
      if (room.topic().empty()) return line(out, "331", asked.target, "No topic is set");
      return line(out, "332", asked.target, room.topic());
    }
    return line(out, "403", asked.target, "No such channel");
  }
  line(out, "321", "Channel", "Users  Name");
  for (const v1::RoomInfo& room : list.rooms()) {
    line(out, "322", fmt::format("{} {}", channel_of(room.room()), room.member_count()),
         room.topic());
  }
  line(out, "323", "", "End of /LIST");
}

void Renderer::append_join(std::string& out, std::string_view nick, std::string_view channel,
                           bool account, std::string_view real_name) const {
  LineBuilder line(out, source_of(nick), "JOIN");
  line.param(channel);
  if (!state_.caps.extended_join) return line.end();
  line.param(account ? nick : "*").trailing(real_name);
}

void Renderer::render_whois(std::string& out, const v1::UserInfo& info) {
  const std::string& nick = info.nick();
  line(out, "311", fmt::format("{} {} chat *", nick, nick), info.real_name());
  std::string channels;
  for (const std::string& room : info.rooms()) {
    if (channels.size() + room.size() > names_line_budget) {
      line(out, "319", nick, channels);
      channels.clear();
    }
    if (!channels.empty()) channels += ' ';
    channels += channel_of(room);
  }
  if (!channels.empty()) line(out, "319", nick, channels);
  line(out, "312", fmt::format("{} {}", nick, state_.server_name),
       fmt::format("chat-server ({})", info.transport()));
  if (!info.away().empty()) line(out, "301", nick, info.away());
  if (info.account()) line(out, "330", fmt::format("{} {}", nick, nick), "is logged in as");
  line(out, "317", fmt::format("{} {} {}", nick, info.idle_ms() / 1000, info.connected_ms() / 1000),
       "seconds idle, signon time");
  line(out, "318", nick, "End of /WHOIS list");
}

void Renderer::render_ok(std::string& out, const PendingRequest& asked) {
  switch (asked.asked) {
    case Asked::away:
      if (asked.text.empty()) return line(out, "305", "", "You are no longer marked as being away");
      return line(out, "306", "", "You have been marked as being away");
    case Asked::markread_set: {
      Channel* channel = state_.find_channel(room_of(asked.target));
      if (channel && asked.after > channel->marker_seq) {
        channel->marker_seq = asked.after;
        channel->marker_ms = parse_iso_time(asked.text).value_or(0);
      }
      return append_markread(out, asked.target, channel);
    }
    case Asked::part:
      LineBuilder(out, source_of(state_.shown_nick), "PART").param(asked.target).end();
      std::erase_if(state_.channels, [&](const auto& entry) {
        return name_key(entry.first) == name_key(room_of(asked.target));
      });
      return;
    case Asked::nick:
      LineBuilder(out, source_of(state_.shown_nick), "NICK").trailing(asked.target);
      state_.last_rename = state_.shown_nick + '\n' + asked.target;
      state_.shown_nick = asked.target;
      return;
    case Asked::direct:
    case Asked::direct_notice:
      if (state_.caps.echo_message) {
        append_privmsg_lines(out, "", source_of(state_.shown_nick),
                             asked.asked == Asked::direct ? "PRIVMSG" : "NOTICE", asked.target,
                             asked.text, asked.action);
      }
      return;
    default:
      return;
  }
}

void Renderer::render_error(std::string& out, const v1::Error& error, const PendingRequest& asked) {
  const std::string& target = asked.target;
  const std::string& why = error.message();
  switch (asked.asked) {
    case Asked::hello:
    case Asked::nick:
      if (error.code() == v1::Error::NICK_IN_USE)
        return line(out, "433", target, "Nickname is already in use");
      if (error.code() == v1::Error::INVALID_NAME)
        return line(out, "432", target, "Erroneous nickname: " + why);
      if (error.code() == v1::Error::AUTH_FAILED || error.code() == v1::Error::FORBIDDEN)
        return line(out, asked.text.empty() ? "433" : "464", target, why);
      return notice(out, state_.shown_nick, "cannot use nick " + target + ": " + why);
    case Asked::sasl_hello:
      return line(out, "904", "", "SASL authentication failed: " + why);
    case Asked::join:
      if (error.code() == v1::Error::TOO_MANY_ROOMS)
        return line(out, "405", target, "You have joined too many channels");
      if (error.code() == v1::Error::ROOM_FULL)
        return line(out, "471", target, "Cannot join channel (+l)");
      if (error.code() == v1::Error::INVALID_NAME)
        return line(out, "479", target, "Illegal channel name: " + why);
      return notice(out, target, "cannot join: " + why);
    case Asked::part:
    case Asked::topic:
      if (error.code() == v1::Error::NOT_IN_ROOM)
        return line(out, "442", target, "You're not on that channel");
      return notice(out, target, why);
    case Asked::names:
      return line(out, "366", target, "End of /NAMES list");
    case Asked::who:
      return line(out, "315", target, "End of WHO list");
    case Asked::privmsg:
      if (error.code() == v1::Error::NOT_IN_ROOM)
        return line(out, "404", target, "Cannot send to channel");
      return fail(out, error, target);
    case Asked::direct:
      if (error.code() == v1::Error::NOT_FOUND) return line(out, "401", target, "No such nick");
      return fail(out, error, target);
    case Asked::list:
      return line(out, "323", "", "End of /LIST");
    case Asked::redact: {
      const bool forbidden =
          error.code() == v1::Error::FORBIDDEN || error.code() == v1::Error::NOT_IN_ROOM;
      const std::string code = error.code() == v1::Error::NOT_FOUND ? "UNKNOWN_MSGID"
                               : forbidden                          ? "REDACT_FORBIDDEN"
                                           : v1::Error::Code_Name(error.code());
      return append_fail(out, state_, "REDACT", code, {target, asked.text},
                         why.empty() ? "You may not redact this message" : why);
    }
    case Asked::chathistory:
      return append_fail(
          out, state_, "CHATHISTORY",
          error.code() == v1::Error::NOT_IN_ROOM ? "INVALID_TARGET" : "MESSAGE_ERROR",
          {asked.text, target}, why);
    case Asked::chathistory_targets:
      return render_target(out, nullptr, asked);  // a channel left meanwhile: not listed
    case Asked::join_marker:
      return append_markread(out, target, nullptr);
    case Asked::whois:
      if (error.code() == v1::Error::NOT_FOUND) line(out, "401", target, "No such nick/channel");
      return line(out, "318", target, "End of /WHOIS list");
    case Asked::away:
      return notice(out, state_.shown_nick, "cannot set away: " + why);
    case Asked::markread_set:
      return append_fail(out, state_, "MARKREAD", "INTERNAL_ERROR", {target}, why);
    default:
      return;  // NOTICE, the NAMES and history after a JOIN, MarkRead: nothing to say
  }
}

void Renderer::render_event(std::string& out, const v1::ServerFrame& frame) {
  switch (frame.payload_case()) {
    case v1::ServerFrame::kDirectMessage: {
      const auto& message = frame.direct_message();
      const std::string tags =
          state_.caps.server_time ? "@time=" + iso_time(message.server_time_ms()) + " " : "";
      return append_privmsg_lines(out, tags, source_of(message.from()),
                                  message.notice() ? "NOTICE" : "PRIVMSG", state_.shown_nick,
                                  message.text(), message.action());
    }
    case v1::ServerFrame::kMemberJoined: {
      const auto& joined = frame.member_joined();
      if (joined.nick() == state_.shown_nick) return;
      state_.last_quit.clear();  // a later quit of this nick is another one
      return append_join(out, joined.nick(), channel_of(joined.room()), joined.account(),
                         joined.real_name());
    }
    case v1::ServerFrame::kDirectReceipt: {
      const auto& receipt = frame.direct_receipt();
      if (receipt.away().empty()) return;
      return line(out, "301", receipt.from(), receipt.away());
    }
    case v1::ServerFrame::kAwayChanged: {
      const auto& away = frame.away_changed();
      const std::string change = away.nick() + '\n' + away.message();
      if (!state_.caps.away_notify || away.nick() == state_.shown_nick ||
          change == state_.last_away)
        return;
      state_.last_away = change;
      LineBuilder line(out, source_of(away.nick()), "AWAY");
      return away.message().empty() ? line.end() : line.trailing(away.message());
    }
    case v1::ServerFrame::kMemberLeft: {
      const auto& left = frame.member_left();
      if (left.nick() == state_.shown_nick) return;
      if (!left.quit()) {
        return LineBuilder(out, source_of(left.nick()), "PART")
            .param(channel_of(left.room()))
            .trailing(left.reason());
      }
      const std::string quit = left.nick() + '\n' + left.reason();  // once, not once per room
      if (quit == state_.last_quit) return;
      state_.last_quit = quit;
      return LineBuilder(out, source_of(left.nick()), "QUIT").trailing(left.reason());
    }
    case v1::ServerFrame::kNickChanged: {
      const auto& changed = frame.nick_changed();
      const std::string rename = changed.old_nick() + '\n' + changed.new_nick();
      if (changed.new_nick() == state_.shown_nick || rename == state_.last_rename) return;
      state_.last_rename = rename;
      return LineBuilder(out, source_of(changed.old_nick()), "NICK").trailing(changed.new_nick());
    }
    case v1::ServerFrame::kTopicChanged: {
      const auto& topic = frame.topic_changed();
      return LineBuilder(out, source_of(topic.by()), "TOPIC")
          .param(channel_of(topic.room()))
          .trailing(topic.topic());
    }
    case v1::ServerFrame::kMessageEdited: {
      const auto& edited = frame.message_edited();
      return append_privmsg_lines(out, "", source_of(edited.by()), "PRIVMSG",
                                  channel_of(edited.room()), "(edited) " + edited.text(), false);
    }
    case v1::ServerFrame::kMessageDeleted: {
      // Shown only to clients that can take it back from their view (draft/message-redaction).
      const auto& deleted = frame.message_deleted();
      if (!state_.caps.message_redaction) return;
      return LineBuilder(out, source_of(deleted.by()), "REDACT")
          .param(channel_of(deleted.room()))
          .param(msgid_of(deleted.seq(), deleted.room()))
          .end();
    }
    case v1::ServerFrame::kTyping:
      if (!state_.caps.message_tags || frame.typing().nick() == state_.shown_nick) return;
      out += "@+typing=active :" + source_of(frame.typing().nick()) + " TAGMSG " +
             channel_of(frame.typing().room()) + "\r\n";
      return;
    case v1::ServerFrame::kGap: {
      const auto& gap = frame.gap();
      return notice(out, channel_of(gap.room()),
                    fmt::format("you missed messages {} to {}: rejoin to see them", gap.from_seq(),
                                gap.to_seq()));
    }
    case v1::ServerFrame::kDisconnect:
      out += "ERROR :Closing link: " +
             (frame.disconnect().reason() == v1::Disconnect::SLOW_CONSUMER
                  ? std::string("SendQ exceeded")
                  : frame.disconnect().message()) +
             "\r\n";
      return;
    case v1::ServerFrame::kPing:
      out += "PING :" + std::to_string(frame.ping().nonce()) + "\r\n";
      return;
    default:
      return;  // deletes and receipts: nothing an IRC client shows
  }
}

}  // namespace chat::server::irc
