#pragma once
// What the TLS tests share: fresh certificates in a directory of the test's own, a server config
// with a TLS listener next to the plain-text one, a raw-socket check that the server hung up, and
// chat::Client helpers for "connect over TLS or not, join lobby, and check that people still chat".

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "client.hpp"
#include "test_certificates.hpp"
#include "test_server.hpp"

namespace chat::test {

// A temporary directory holding make_test_certificates' files, removed at the end of the test. The
// pid is in its name: ctest runs the 1-shard and 4-shard suites side by side.
class CertificateDir {
 public:
  CertificateDir()
      : path_(std::filesystem::temp_directory_path() /
              ("chat-tls-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++))),
        certs_(make_test_certificates(path_)) {}
  ~CertificateDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  CertificateDir(const CertificateDir&) = delete;
  CertificateDir& operator=(const CertificateDir&) = delete;

  const TestCertificates& certs() const { return certs_; }
  // A path in the directory for files the test writes itself.
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
  TestCertificates certs_;
  static inline int counter_ = 0;
};

inline void copy_over(const std::filesystem::path& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

// test_config() plus a TLS listener on an ephemeral port serving cert and key.
inline server::ServerConfig tls_config(const std::filesystem::path& cert,
                                       const std::filesystem::path& key) {
  auto config = test_config();
  config.tls_listen = "127.0.0.1:0";
  config.tls_cert = cert.string();
  config.tls_key = key.string();
  return config;
}

// Reads (and throws away) whatever arrives on fd until the peer closes the connection; false if it
// is still open at the deadline. For sockets whose bytes are not frames (TLS records, alerts).
inline bool closed_by_peer(int fd, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    if (::recv(fd, buffer, sizeof buffer, 0) <= 0) return true;  // end of stream, or reset
  }
}

// A chat::Client for 127.0.0.1 (or host): over TLS trusting the CA file `trusted`, or in plain text
// when that is empty.
inline std::shared_ptr<client::Client> make_client(asio::io_context& io, std::uint16_t port,
                                                   std::string nick,
                                                   const std::string& trusted = {},
                                                   const std::string& host = "127.0.0.1") {
  client::ClientOptions options;
  options.host = host;
  options.port = port;
  options.nick = std::move(nick);
  options.tls = !trusted.empty();
  options.ca_file = trusted;
  options.backoff.initial = std::chrono::milliseconds(20);
  options.backoff.max = std::chrono::milliseconds(200);
  return client::Client::create(io.get_executor(), options);
}

inline asio::awaitable<std::shared_ptr<client::Client>> joined_lobby(
    asio::io_context& io, std::uint16_t port, std::string nick, const std::string& trusted = {}) {
  auto member = make_client(io, port, std::move(nick), trusted);
  auto welcome = co_await member->connect();
  REQUIRE_MESSAGE(welcome.ok(), welcome.failure().message);
  REQUIRE((co_await member->join("lobby", 0)).ok());
  co_return member;
}

// The failure connect() ends with; the test fails if it connects.
inline asio::awaitable<client::Failure> refused(std::shared_ptr<client::Client> doubter) {
  auto welcome = co_await doubter->connect();
  REQUIRE_FALSE_MESSAGE(welcome.ok(), "connected, but should have been refused");
  co_return welcome.failure();
}

// Reads room messages in lobby until one says `text`; fails the test if the client closes first.
inline asio::awaitable<void> hears(client::Client& listener, const std::string& text) {
  for (;;) {
    client::ClientEvent event = co_await listener.next_event();
    if (const auto* frame = std::get_if<v1::ServerFrame>(&event)) {
      if (frame->has_room_message() && frame->room_message().room() == "lobby" &&
          frame->room_message().text() == text)
        co_return;
    }
    const auto* connection = std::get_if<client::ConnectionEvent>(&event);
    REQUIRE_MESSAGE(!(connection && connection->state == client::ConnectionState::closed),
                    "the client closed while waiting to hear: ", text);
  }
}

// Each says something in lobby; both hear both.
inline asio::awaitable<void> still_chatting(client::Client& a, client::Client& b,
                                            const std::string& topic) {
  const std::string from_a = a.nick() + " on " + topic;
  const std::string from_b = b.nick() + " on " + topic;
  auto ack = co_await a.send("lobby", from_a);
  REQUIRE_MESSAGE(ack.ok(), ack.failure().message);
  ack = co_await b.send("lobby", from_b);
  REQUIRE_MESSAGE(ack.ok(), ack.failure().message);
  co_await hears(a, from_a);
  co_await hears(a, from_b);
  co_await hears(b, from_a);
  co_await hears(b, from_b);
}

inline std::string tls_address(std::uint16_t port, const std::string& host = "127.0.0.1") {
  return "TLS with " + host + ":" + std::to_string(port) + ": ";
}

}  // namespace chat::test
