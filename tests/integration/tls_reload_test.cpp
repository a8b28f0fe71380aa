// TLS in a real chat-server process: certificates re-read on SIGHUP (or kept when the new files
// are bad), and a certificate file it cannot read at start.
#include <doctest/doctest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "coroutine_test.hpp"
#include "server_process.hpp"
#include "tls_support.hpp"

using namespace chat;
using namespace chat::test;

namespace {

struct TlsServerProcess {
  explicit TlsServerProcess(const CertificateDir& dir)
      : cert(dir.file("live-cert.pem")), key(dir.file("live-key.pem")) {
    test::copy_over(dir.certs().server_cert, cert);
    test::copy_over(dir.certs().server_key, key);
    process.emplace(std::vector<std::string>{"--tls-listen", "127.0.0.1:0", "--tls-cert", cert,
                                             "--tls-key", key});
    tls_port = process->logged_port("listening for TLS on 127.0.0.1:");
  }

  // SIGHUP, then waits for the reload to finish (its last log line).
  void reload() {
    const std::size_t before = process->count_in_log("reloaded limits and log level");
    ::kill(process->pid(), SIGHUP);
    REQUIRE(test::eventually(
        [&] { return process->count_in_log("reloaded limits and log level") == before + 1; }));
  }

  std::string cert;  // the files the server reads, which the test overwrites
  std::string key;
  std::optional<test::ServerProcess> process;
  std::uint16_t tls_port = 0;
};

}  // namespace

TEST_CASE("SIGHUP loads a new TLS certificate: open connections stay, new ones get the new one") {
  CertificateDir dir;
  const auto& certs = dir.certs();
  TlsServerProcess server(dir);
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    auto alice = co_await joined_lobby(io, server.tls_port, "alice", certs.ca_cert);
    auto bob = co_await joined_lobby(io, server.process->port(), "bob");
    co_await still_chatting(*alice, *bob, "the first certificate");

    test::copy_over(certs.self_signed_cert, server.cert);
    test::copy_over(certs.self_signed_key, server.key);
    server.reload();
    CHECK(server.process->count_in_log("reload: TLS certificate " + server.cert + " loaded") == 1);

    co_await still_chatting(*alice, *bob, "the second certificate");
    auto carol = make_client(io, server.tls_port, "carol", certs.ca_cert.string());
    const client::Failure failure = co_await refused(carol);
    CHECK(failure.message == tls_address(server.tls_port) +
                                 "TLS handshake failed: certificate rejected: self-signed "
                                 "certificate");
    auto dave = co_await joined_lobby(io, server.tls_port, "dave", certs.self_signed_cert);
    co_await still_chatting(*alice, *dave, "the new certificate");
    alice->close();
    bob->close();
    dave->close();
  });
  CHECK(server.process->stop() == 0);
}

TEST_CASE("SIGHUP with a bad certificate or key keeps the current certificate") {
  CertificateDir dir;
  const auto& certs = dir.certs();
  TlsServerProcess server(dir);
  run_coroutine_test([&](asio::io_context& io) -> asio::awaitable<void> {
    auto alice = co_await joined_lobby(io, server.tls_port, "alice", certs.ca_cert);
    auto bob = co_await joined_lobby(io, server.process->port(), "bob");

    struct Bad {
      std::string what;
      std::function<void()> write;
      std::string logged;  // the reason in the log line
    };
    const std::vector<Bad> bad_files{
        {"not PEM", [&] { test::write_file(server.cert, "not a certificate\n"); },
         "reload: cannot load TLS certificate " + server.cert + ": "},
        {"missing", [&] { std::filesystem::remove(server.cert); },
         "reload: cannot load TLS certificate " + server.cert + ": "},
        {"a key of another certificate",
         [&] {
           test::copy_over(certs.self_signed_cert, server.cert);
           test::copy_over(certs.server_key, server.key);
         },
         "reload: cannot load TLS key " + server.key + ": key values mismatch"},
    };
    int round = 0;
    for (const Bad& bad : bad_files) {
      CAPTURE(bad.what);
      const std::size_t logged_before = server.process->count_in_log(bad.logged);
      bad.write();
      server.reload();
      CHECK(server.process->count_in_log(bad.logged) == logged_before + 1);
      CHECK(server.process->count_in_log("; keeping the current certificate") ==
            static_cast<std::size_t>(++round));
      // New clients that trust the CA still connect: the CA-signed certificate is still served.
      auto carol = co_await joined_lobby(io, server.tls_port, "carol" + std::to_string(round),
                                         certs.ca_cert);
      co_await still_chatting(*alice, *carol, bad.what);
      carol->close();
    }
    CHECK(server.process->count_in_log("TLS certificate " + server.cert + " loaded") == 0);
    co_await still_chatting(*alice, *bob, "the refused reloads");
    alice->close();
    bob->close();
  });
  CHECK(server.process->stop() == 0);
}

TEST_CASE("chat-server exits 1 naming a TLS certificate file it cannot read") {
  CertificateDir dir;
  const std::string missing = dir.file("missing-cert.pem");
  test::ChildProcess server({CHAT_SERVER_BINARY, "--listen", "127.0.0.1:0", "--web", "", "--irc-listen", "",
                             "--tls-listen", "127.0.0.1:0", "--tls-cert", missing, "--tls-key",
                             dir.certs().server_key.string(), "--storage", "temporary",
                             "--log-level", "warn"});
  CHECK(server.wait_exit() == 1);
  const std::string err = server.err();
  CHECK_MESSAGE(
      err.find("chat-server: cannot load TLS certificate " + missing) != std::string::npos, err);
  CHECK(std::count(err.begin(), err.end(), '\n') == 1);
}
