// TLS end to end: chat::Client and raw sockets against a server in the test process with a
// plain-text and a TLS listener, each server started with the certificate its case needs.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "client.hpp"
#include "coroutine_test.hpp"
#include "test_client.hpp"
#include "tls_support.hpp"

using namespace chat;
using namespace chat::client;
using namespace std::chrono_literals;
using namespace chat::test;

TEST_CASE("a TLS client and a plain-text client chat in the same room") {
  CertificateDir dir;
  const auto& certs = dir.certs();
  TestServer server(tls_config(certs.server_cert, certs.server_key));
  REQUIRE(server.server().tls_port() != 0);
  REQUIRE(server.server().tls_port() != server.port());
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    auto alice = co_await joined_lobby(io, server.server().tls_port(), "alice", certs.ca_cert);
    auto bob = co_await joined_lobby(io, server.port(), "bob");
    auto who = co_await bob->who("lobby");
    REQUIRE(who.ok());
    CHECK(who.value().nicks_size() == 2);
    co_await still_chatting(*alice, *bob, "TLS");
    auto direct = co_await bob->send_direct("alice", "psst");
    CHECK(direct.ok());
    alice->close();
    bob->close();
  });
  CHECK(server.stats().tls_handshake_failures == 0);
}

TEST_CASE("a TLS client refuses an expired, wrong-host or unknown-CA certificate, naming why") {
  CertificateDir dir;
  const auto& certs = dir.certs();
  struct Case {
    const char* what;
    std::filesystem::path cert;  // what the server serves
    std::filesystem::path key;
    std::filesystem::path trusted;  // what the client trusts
    std::string host;               // what the client connects to
    std::string reason;
  };
  for (const Case& c : std::vector<Case>{
           {"expired", certs.expired_cert, certs.expired_key, certs.ca_cert, "127.0.0.1",
            "certificate has expired"},
           {"wrong host name", certs.wrong_host_cert, certs.wrong_host_key, certs.ca_cert,
            "localhost", "hostname mismatch"},
           {"wrong host address", certs.wrong_host_cert, certs.wrong_host_key, certs.ca_cert,
            "127.0.0.1", "IP address mismatch"},
           {"unknown CA", certs.server_cert, certs.server_key, certs.other_ca_cert, "127.0.0.1",
            "unable to get local issuer certificate"},
           {"self-signed", certs.self_signed_cert, certs.self_signed_key, certs.ca_cert,
            "127.0.0.1", "self-signed certificate"},
       }) {
    CAPTURE(c.what);
    TestServer server(tls_config(c.cert, c.key));
    const std::uint16_t port = server.server().tls_port();
    run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
      auto client = make_client(io, port, "alice", c.trusted.string(), c.host);
      const Failure failure = co_await refused(client);
      CHECK(failure.code == v1::Error::UNSUPPORTED);  // final: trying again cannot help
      CHECK(failure.message ==
            tls_address(port, c.host) + "TLS handshake failed: certificate rejected: " + c.reason);
      CHECK(client->closed());
      // The same certificate is fine for a client that has no quarrel with it.
      auto plain = make_client(io, server.port(), "bob");
      CHECK((co_await plain->connect()).ok());
      plain->close();
    });
    // The client's alert ends the handshake on the server's side too.
    CHECK(test::eventually([&] { return server.stats().tls_handshake_failures == 1; }));
  }
}

TEST_CASE("plain text on the TLS port is told to use TLS and closed, others keep chatting") {
  CertificateDir dir;
  const auto& certs = dir.certs();
  TestServer server(tls_config(certs.server_cert, certs.server_key));
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    auto alice = co_await joined_lobby(io, server.server().tls_port(), "alice", certs.ca_cert);
    auto bob = co_await joined_lobby(io, server.port(), "bob");

    TestClient confused(server.server().tls_port());
    confused.send(test::hello_frame("carol"));
    const auto disconnect = confused.wait_closed();  // blocks this thread: nothing else needs it
    REQUIRE(confused.closed());
    REQUIRE(disconnect.has_value());
    CHECK(disconnect->reason() == v1::Disconnect::PROTOCOL_ERROR);
    CHECK(disconnect->message() == "this port speaks TLS: connect with TLS");
    CHECK(confused.skipped().empty());  // no other frame before it
    CHECK(server.stats().tls_handshake_failures == 1);

    co_await still_chatting(*alice, *bob, "the confused client");
    alice->close();
    bob->close();
  });
}

TEST_CASE("a TLS client on the plain-text port is told the server did not answer with TLS") {
  CertificateDir dir;
  const auto& certs = dir.certs();
  TestServer server(tls_config(certs.server_cert, certs.server_key));
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    auto alice = co_await joined_lobby(io, server.server().tls_port(), "alice", certs.ca_cert);
    auto bob = co_await joined_lobby(io, server.port(), "bob");

    auto carol = make_client(io, server.port(), "carol", certs.ca_cert.string());
    const Failure failure = co_await refused(carol);
    CHECK(failure.code == v1::Error::UNSUPPORTED);
    CHECK(failure.message ==
          tls_address(server.port()) +
              "the server did not answer with TLS (is this its plain-text port?)");

    co_await still_chatting(*alice, *bob, "the TLS client on the wrong port");
    alice->close();
    bob->close();
  });
  // The plain-text side saw a ClientHello where a frame should be.
  CHECK(test::eventually(
      [&] { return server.stats().disconnects_for(v1::Disconnect::PROTOCOL_ERROR) == 1; }));
}

TEST_CASE("a silent connection on the TLS port is closed at the handshake timeout") {
  CertificateDir dir;
  const auto& certs = dir.certs();
  auto config = tls_config(certs.server_cert, certs.server_key);
  config.handshake_timeout_ms = 500;
  TestServer server(config);
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    auto alice = co_await joined_lobby(io, server.server().tls_port(), "alice", certs.ca_cert);
    auto bob = co_await joined_lobby(io, server.port(), "bob");

    const auto connected_at = std::chrono::steady_clock::now();
    TestClient silent(server.server().tls_port());
    CHECK(closed_by_peer(silent.fd(), 10s));
    CHECK(std::chrono::steady_clock::now() - connected_at >= 500ms);
    CHECK(test::eventually([&] { return server.stats().tls_handshake_failures == 1; }));

    // alice and bob finished their handshakes long ago: the deadline was not theirs.
    co_await still_chatting(*alice, *bob, "the silent client");
    alice->close();
    bob->close();
  });
}

TEST_CASE("broken and truncated TLS records close only their own connection") {
  CertificateDir dir;
  const auto& certs = dir.certs();
  TestServer server(tls_config(certs.server_cert, certs.server_key));
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    auto alice = co_await joined_lobby(io, server.server().tls_port(), "alice", certs.ca_cert);
    auto bob = co_await joined_lobby(io, server.port(), "bob");

    const std::vector<std::string> openings{
        // A handshake record header naming 65535 bytes (more than a record may hold), then EOF.
        std::string("\x16\x03\x01\xff\xff", 5),
        // A record header and half of what it announces, then EOF.
        std::string("\x16\x03\x01\x00\x40", 5) + std::string(32, '\x01'),
        // A whole record whose contents are not a ClientHello.
        std::string("\x16\x03\x01\x00\x08", 5) + "garbage!",
        // A record header cut short.
        std::string("\x16\x03", 2),
    };
    std::uint64_t failures = 0;
    for (const std::string& opening : openings) {
      CAPTURE(opening.size());
      TestClient broken(server.server().tls_port());
      broken.write_raw(opening);
      broken.shutdown_write();
      CHECK(closed_by_peer(broken.fd(), 10s));
      ++failures;
      CHECK(test::eventually([&] { return server.stats().tls_handshake_failures == failures; }));
      co_await still_chatting(*alice, *bob, "broken record " + std::to_string(failures));
    }
    alice->close();
    bob->close();
  });
}
