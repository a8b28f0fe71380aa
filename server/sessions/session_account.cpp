// The handshake and what belongs to an account: Hello (the password checked off the shard
// thread), Register and read markers.
#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>

#include "awaitable_callback.hpp"
#include "logging.hpp"
#include "names.hpp"
#include "session.hpp"
#include "shard.hpp"

namespace chat::server {
namespace {

constexpr std::uint32_t protocol_version = 1;
constexpr std::size_t max_real_name_bytes = 128;

// "127.0.0.1:5000" -> "127.0.0.1"; "[::1]:5000" -> "[::1]".
std::string address_of(const std::string& peer) { return peer.substr(0, peer.rfind(':')); }

}  // namespace

void Session::handle_hello(std::uint64_t id, const v1::Hello& hello) {
  if (hello.protocol_version() != protocol_version) {
    const std::string why = "protocol version " + std::to_string(hello.protocol_version()) +
                            " is not supported (server speaks 1)";
    send_error(id, v1::Error::UNSUPPORTED, why);
    close_with(v1::Disconnect::HANDSHAKE_FAILED, why);
    return;
  }
  if (const auto problem = check_nick(hello.nick()); problem != NameProblem::ok) {
    send_error(id, v1::Error::INVALID_NAME, "nick " + std::string(describe(problem)));
    return;
  }
  if (const auto problem = check_text(hello.real_name(), max_real_name_bytes);
      !hello.real_name().empty() &&
      (problem != NameProblem::ok || hello.real_name().find('\n') != std::string::npos)) {
    send_error(id, v1::Error::INVALID_NAME,
               "real name " + std::string(problem == NameProblem::ok ? "has a line break"
                                                                     : describe(problem)));
    return;
  }
  connection_.task_started();
  asio::co_spawn(shard_.io(), handshake(id, hello), [this](std::exception_ptr error) {
    if (error) spdlog::error("session={} handshake failed: {}", ref_.id, describe_exception(error));
    connection_.task_ended();
  });
}

asio::awaitable<void> Session::handshake(std::uint64_t id, v1::Hello hello) {
  ServerContext& context = shard_.context();
  const auto executor = shard_.io().get_executor();
  std::string password = std::move(*hello.mutable_password());
  hello.clear_password();
  const LoginResult login = co_await answer_of<LoginResult>(executor, [&](auto done) {
    context.accounts->login(hello.nick(), std::move(password), address_of(peer()), std::move(done));
  });
  if (connection_.closing()) co_return;
  if (!login.ok) {
    spdlog::info("login refused {} session={} nick={}: {}", peer(), ref_.id, hello.nick(),
                 login.message);
    co_return send_error(id, login.code, login.message, login.retry_after_ms);
  }
  if (hello.require_account() && !login.registered) {
    co_return send_error(id, v1::Error::AUTH_FAILED, hello.nick() + " is not a registered account");
  }
  if (!context.nicks.claim(hello.nick(), ref_)) {
    co_return send_error(id, v1::Error::NICK_IN_USE, "nick is in use");
  }
  if (context.nick_registry) {
    // Unique on this node; now across the cluster. Requests wait behind the Hello meanwhile.
    cluster_nick_ = name_key(hello.nick());
    const auto claimed = co_await answer_of<storage::WriteResult>(executor, [&](auto done) {
      context.nick_registry->claim_nick(cluster_nick_, ref_.id, std::move(done));
    });
    if (connection_.closing()) {
      context.nicks.release(hello.nick(), ref_);  // (cluster_nick_ goes with the destructor)
      co_return;
    }
    if (!claimed.ok) {
      context.nicks.release(hello.nick(), ref_);
      cluster_nick_.clear();
      if (claimed.error.empty()) {
        co_return send_error(id, v1::Error::NICK_IN_USE,
                             "nick is in use on another server of the cluster");
      }
      co_return send_error(id, v1::Error::UNAVAILABLE,
                           "cannot check the nick across the cluster: try again");
    }
  }
  welcome(id, hello, login);
}

void Session::welcome(std::uint64_t id, const v1::Hello& hello, const LoginResult& login) {
  nick_ = hello.nick();
  welcomed_ = true;
  registered_ = login.registered;
  if (!hello.real_name().empty())
    profile_ = std::make_unique<Profile>(Profile{.real_name = hello.real_name(), .away = {}});
  connection_.wake_watchdog();  // the handshake deadline no longer applies
  const ServerConfig& config = shard_.config();
  v1::ServerFrame frame;
  frame.set_request_id(id);
  auto* welcome = frame.mutable_welcome();
  welcome->set_session_id(ref_.id);
  welcome->set_server_name(config.name);
  welcome->set_motd(config.motd);
  welcome->set_nick(nick_);
  welcome->set_protocol_version(protocol_version);
  auto* limits = welcome->mutable_limits();
  limits->set_max_frame_bytes(config.max_frame_bytes);
  limits->set_max_rooms_per_session(config.max_rooms_per_session);
  limits->set_messages_per_second(config.messages_per_second);
  limits->set_message_burst(config.message_burst);
  limits->set_max_text_bytes(config.max_text_bytes);
  limits->set_max_history(config.max_history);
  limits->set_idle_timeout_ms(config.idle_timeout_ms);
  limits->set_max_name_chars(static_cast<std::uint32_t>(max_name_code_points));
  limits->set_max_name_bytes(static_cast<std::uint32_t>(max_name_bytes));
  for (const storage::ReadMarker& marker : login.read_markers) {
    auto* read = welcome->add_read_markers();
    read->set_room(marker.room);
    read->set_seq(marker.seq);
  }
  // Each resumed room is answered by a JoinReply (or Error) with request_id 0, and requests sent
  // behind the Hello wait for those answers too: counted before Welcome goes out.
  std::vector<const v1::ResumeRoom*> resumes;
  for (const v1::ResumeRoom& resume : hello.resume()) {
    if (check_room(resume.room()) != NameProblem::ok) continue;
    if (resumes.size() >= config.max_rooms_per_session) break;
    resumes.push_back(&resume);
  }
  unanswered_ += static_cast<std::uint32_t>(resumes.size());
  send_frame(frame);
  spdlog::info("hello {} session={} nick={} client={}{}", peer(), ref_.id, nick_,
               hello.client_name(), registered_ ? " (registered)" : "");
  for (const v1::ResumeRoom* resume : resumes)
    start_join(0, resume->room(), 0, resume->last_seen_seq());
}

void Session::handle_register(std::uint64_t id, const v1::Register& request) {
  if (registered_) return send_error(id, v1::Error::NICK_IN_USE, nick_ + " is registered already");
  if (auto problem = Accounts::check_password(request.password())) {
    return send_error(id, v1::Error::BAD_REQUEST, *problem);
  }
  ServerContext& context = shard_.context();
  context.accounts->register_nick(nick_, request.password(),
                                  [&context, ref = ref_, id](LoginResult result) {
                                    with_session(context, ref, [id, result](Session& session) {
                                      if (!result.ok)
                                        return session.send_error(id, result.code, result.message);
                                      session.registered_ = true;
                                      session.send_ok(id);
                                    });
                                  });
}

void Session::handle_mark_read(std::uint64_t id, const v1::MarkRead& request) {
  if (!registered_) {
    return send_error(id, v1::Error::FORBIDDEN,
                      "read markers are kept for registered nicks: /register first");
  }
  const std::string* key = joined_room_key(id, request.room());
  if (!key) return;
  post_to_home(shard_.context(), *key,
               [key = *key, who = ref_, account = name_key(nick_), seq = request.seq(),
                id](HomeRooms& rooms) { rooms.mark_read(key, who, account, seq, id); });
}

}  // namespace chat::server
