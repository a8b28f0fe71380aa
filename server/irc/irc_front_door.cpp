#include "irc_front_door.hpp"

#include "irc_codec.hpp"
#include "session.hpp"
#include "shard.hpp"

namespace chat::server {
namespace {

std::unique_ptr<ClientCodec> irc_codec(Shard& shard) {
  const ServerConfig& config = shard.config();
  ServerContext& context = shard.context();
  irc::Commands::Settings settings{
      .history_on_join = config.history_on_join,
      .catch_up_limit = config.max_history,
      .join_names_limit = config.max_presence_members,
      .users =
          [&context] {
            return static_cast<std::size_t>(
                context.stats.sessions_current.load(std::memory_order_relaxed));
          },
  };
  return std::make_unique<irc::IrcCodec>(config.name, std::move(settings));
}

std::string error_line(std::string_view why) {
  return "ERROR :Closing link: " + std::string(why) + "\r\n";
}

}  // namespace

FrontDoor irc_front_door() {
  static const std::string tls_refusal = error_line("this port speaks TLS: connect with TLS");
  return {
      .name = "irc",
      .serve =
          [](Shard& shard, asio::ip::tcp::socket socket, std::shared_ptr<TlsContext> tls) {
            return serve_session(shard, std::move(socket), std::move(tls), irc_codec, tls_refusal);
          },
      .refusal = [](const Refusal& refusal) { return error_line(refusal.message); },
  };
}

}  // namespace chat::server
