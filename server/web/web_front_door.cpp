#include "web_front_door.hpp"

#include <spdlog/spdlog.h>

#include <optional>

#include "http_request.hpp"
#include "lingering_close.hpp"
#include "session.hpp"
#include "shard.hpp"
#include "socket_deadline.hpp"
#include "tls_accept.hpp"
#include "tls_channel.hpp"
#include "web_stream.hpp"
#include "websocket_codec.hpp"

namespace chat::server {
namespace {

// Reads until the parser has a whole head or an error; input keeps what came after the head (the
// next request, or a WebSocket client's first frames). False when the client left between
// requests.
asio::awaitable<bool> read_head(WebStream& stream, HttpRequestParser& parser, std::string& input) {
  bool received = !input.empty();
  for (;;) {
    if (!input.empty()) {
      parser.feed(input);
      input.erase(0, parser.used_of_last_feed());
      if (parser.status() != HttpParseStatus::need_more) co_return true;
    }
    if (!co_await stream.read_some(input)) {
      if (!received) co_return false;
      parser.finish();  // a client that half-closed inside a head still gets its 400
      co_return true;
    }
    received = true;
  }
}

// What a connection that upgraded brings to its WebSocket session.
struct Upgraded {
  WebSocketUpgrade upgrade;
  std::unique_ptr<TlsChannel> tls;
  std::string early_input;  // the client's first frames, when they came with the request
};

// Answers HTTP requests (after the TLS handshake, for the TLS listener) until the connection
// closes or upgrades. A coroutine of its own so that its frame (the read buffer, the parser, the
// last answer) is freed before the WebSocket session starts: an idle session keeps none of it.
asio::awaitable<std::optional<Upgraded>> serve_http(Shard& shard, asio::ip::tcp::socket& socket,
                                                    std::shared_ptr<TlsContext> tls,
                                                    const WebRouter& router,
                                                    const std::string& peer) {
  std::string input;
  std::unique_ptr<TlsChannel> channel;
  if (tls) {
    static const std::string refusal =
        router.answer_unparsable(400, "this port speaks TLS: use https://").wire();
    auto accepted = co_await accept_tls(shard, socket, std::move(tls), peer, refusal);
    if (!accepted) co_return std::nullopt;
    channel = std::move(accepted->channel);
    input = std::move(accepted->early_plaintext);
  }
  WebStream stream(socket, shard.read_buffer(), std::move(channel));
  SocketDeadline deadline(socket);
  const auto timeout = std::chrono::milliseconds(shard.config().handshake_timeout_ms);
  for (;;) {
    deadline.expires_after(timeout);
    HttpRequestParser parser;
    if (!co_await read_head(stream, parser, input)) co_return std::nullopt;
    const bool parsed = parser.status() == HttpParseStatus::complete;
    WebAnswer answer = parsed
                           ? router.answer(parser.request())
                           : router.answer_unparsable(parser.error_status(), parser.error_reason());
    const bool head_only = parsed && parser.request().method == "HEAD";
    if (!co_await stream.write(answer.wire(head_only))) co_return std::nullopt;
    if (answer.upgrade) {
      deadline.cancel();
      input.shrink_to_fit();
      co_return Upgraded{std::move(*answer.upgrade), stream.take_tls(), std::move(input)};
    }
    if (parsed)
      spdlog::debug("web {} {} {} -> {}", peer, parser.request().method, parser.request().path,
                    answer.status);
    if (!answer.keep_alive) {
      co_await lingering_close(socket, deadline);
      co_return std::nullopt;
    }
  }
}

asio::awaitable<void> serve_websocket(Shard& shard, asio::ip::tcp::socket socket, std::string peer,
                                      Upgraded upgraded) {
  if (shard.shutting_down()) co_return;  // drained already: its Disconnect went out without it
  spdlog::info("connect {} shard={} transport=ws protocol={}", peer, shard.index(),
               upgraded.upgrade.protocol);
  Session session(
      shard, std::move(socket), std::move(peer),
      std::make_unique<WebSocketCodec>(upgraded.upgrade.format, shard.config().max_frame_bytes),
      std::move(upgraded.tls), std::move(upgraded.early_input));
  co_await session.run();
}

}  // namespace

asio::awaitable<void> serve_web(Shard& shard, asio::ip::tcp::socket socket,
                                std::shared_ptr<TlsContext> tls, const WebRouter& router) {
  std::string peer = peer_of(socket);
  asio::error_code ec;
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  socket.non_blocking(true, ec);  // WebStream reads without waiting; flush() writes so too
  auto upgraded = co_await serve_http(shard, socket, std::move(tls), router, peer);
  if (!upgraded) co_return;
  co_await serve_websocket(shard, std::move(socket), std::move(peer), std::move(*upgraded));
}

FrontDoor web_front_door(const WebRouter& router) {
  return {
      .name = "web",
      .serve =
          [&router](Shard& shard, asio::ip::tcp::socket socket, std::shared_ptr<TlsContext> tls) {
            return serve_web(shard, std::move(socket), std::move(tls), router);
          },
      .refusal =
          [](const Refusal& refusal) {
            return WebRouter::refusal(refusal.message, refusal.retry_after_ms);
          },
  };
}

}  // namespace chat::server
