// TlsChannel pairs talking through memory: handshakes with good and bad certificates, data both
// ways, and garbage, truncated and plain-text input.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "test_certificates.hpp"
#include "tls_channel.hpp"

namespace {

using chat::TlsChannel;
using chat::TlsContext;

const chat::test::TestCertificates& certificates() {
  static const auto made = [] {
    const auto dir =
        std::filesystem::temp_directory_path() / ("chat-tls-unit-" + std::to_string(::getpid()));
    return chat::test::make_test_certificates(dir);
  }();
  return made;
}

std::shared_ptr<TlsContext> server_context(const std::filesystem::path& cert,
                                           const std::filesystem::path& key) {
  return TlsContext::server({.cert_file = cert.string(), .key_file = key.string()});
}

std::shared_ptr<TlsContext> client_context(const std::filesystem::path& ca) {
  return TlsContext::client({.ca_file = ca.string(), .verify = true});
}

// Moves bytes both ways until neither side has anything to say; returns what each side received.
struct Pipe {
  Pipe(TlsChannel& c, TlsChannel& s) : client(c), server(s) {}
  TlsChannel& client;
  TlsChannel& server;
  std::string client_got;
  std::string server_got;

  void pump() {
    for (int round = 0; round < 20; ++round) {
      std::string to_server, to_client;
      client.take_output(to_server);
      server.take_output(to_client);
      if (to_server.empty() && to_client.empty()) return;
      if (!to_server.empty()) server.receive(to_server, server_got);
      if (!to_client.empty()) client.receive(to_client, client_got);
    }
    FAIL("the channels kept talking");
  }
};

}  // namespace

TEST_CASE("TLS channels shake hands and carry data both ways") {
  const auto& certs = certificates();
  TlsChannel client(client_context(certs.ca_cert), "localhost");
  TlsChannel server(server_context(certs.server_cert, certs.server_key));
  Pipe pipe{client, server};
  CHECK(client.send("sent before the handshake ended"));
  pipe.pump();
  REQUIRE(client.handshake_done());
  REQUIRE(server.handshake_done());
  CHECK_FALSE(client.failed());
  CHECK(client.protocol() == "TLSv1.3");
  CHECK(pipe.server_got == "sent before the handshake ended");

  std::string big(100'000, 'x');  // several records
  for (std::size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 26);
  CHECK(server.send(big));
  pipe.pump();
  CHECK(pipe.client_got == big);
}

TEST_CASE("A TLS client checks the certificate and says why it refuses one") {
  const auto& certs = certificates();
  struct Case {
    const char* name;
    std::filesystem::path cert, key, ca;
    std::string host;
    const char* reason;
  };
  const Case cases[] = {
      {"expired", certs.expired_cert, certs.expired_key, certs.ca_cert, "localhost", "expired"},
      {"wrong host", certs.wrong_host_cert, certs.wrong_host_key, certs.ca_cert, "localhost",
       "hostname mismatch"},
      {"wrong IP", certs.wrong_host_cert, certs.wrong_host_key, certs.ca_cert, "127.0.0.1",
       "IP address mismatch"},
      {"unknown CA", certs.server_cert, certs.server_key, certs.other_ca_cert, "localhost",
       "local issuer"},
      {"self-signed", certs.self_signed_cert, certs.self_signed_key, certs.ca_cert, "localhost",
       "self-signed"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    TlsChannel client(client_context(c.ca), c.host);
    TlsChannel server(server_context(c.cert, c.key));
    Pipe pipe{client, server};
    pipe.pump();
    CHECK(client.failed());
    CHECK(client.certificate_rejected());
    CHECK_FALSE(client.handshake_done());
    CHECK(client.failure().find(c.reason) != std::string::npos);
    CHECK_FALSE(client.send("never goes out"));
    CHECK(pipe.server_got.empty());
  }
}

TEST_CASE("The right host by IP address, and --insecure accepting anything") {
  const auto& certs = certificates();
  {
    TlsChannel client(client_context(certs.ca_cert), "127.0.0.1");
    TlsChannel server(server_context(certs.server_cert, certs.server_key));
    Pipe pipe{client, server};
    pipe.pump();
    CHECK(client.handshake_done());
  }
  {
    TlsChannel client(TlsContext::client({.ca_file = {}, .verify = false}), "localhost");
    TlsChannel server(server_context(certs.expired_cert, certs.expired_key));
    Pipe pipe{client, server};
    pipe.pump();
    CHECK(client.handshake_done());
    CHECK_FALSE(client.failed());
  }
}

TEST_CASE("Garbage, plain text and truncated records fail the channel, not the process") {
  const auto& certs = certificates();
  SUBCASE("plain text to a TLS server") {
    TlsChannel server(server_context(certs.server_cert, certs.server_key));
    std::string got;
    CHECK(chat::looks_like_plaintext(std::string_view("\x00\x00\x00\x10hello", 9)));
    CHECK_FALSE(server.receive(std::string("GET / HTTP/1.1\r\n\r\n"), got));
    CHECK(server.failed());
    CHECK_FALSE(server.failure().empty());
    CHECK(got.empty());
  }
  SUBCASE("a handshake cut short waits for more") {
    TlsChannel client(client_context(certs.ca_cert), "localhost");
    TlsChannel server(server_context(certs.server_cert, certs.server_key));
    std::string hello, got;
    client.take_output(hello);
    REQUIRE(hello.size() > 10);
    CHECK_FALSE(chat::looks_like_plaintext(hello));
    CHECK(server.receive(std::string_view(hello).substr(0, 5), got));
    CHECK_FALSE(server.failed());
    CHECK(server.receive(std::string_view(hello).substr(5), got));
    CHECK(server.has_output());
  }
  SUBCASE("a corrupted record after the handshake") {
    TlsChannel client(client_context(certs.ca_cert), "localhost");
    TlsChannel server(server_context(certs.server_cert, certs.server_key));
    Pipe pipe{client, server};
    pipe.pump();
    REQUIRE(server.handshake_done());
    CHECK(client.send("secret"));
    std::string record, got;
    client.take_output(record);
    record.back() = static_cast<char>(record.back() ^ 1);
    CHECK_FALSE(server.receive(record, got));
    CHECK(got.empty());
  }
  SUBCASE("an over-long record header") {
    TlsChannel server(server_context(certs.server_cert, certs.server_key));
    std::string got;
    const std::string header("\x16\x03\x01\xff\xff", 5);
    CHECK_FALSE(server.receive(header + std::string(70'000, 'A'), got));
    CHECK(server.failed());
  }
}

TEST_CASE("Bad certificate and key files give one-line errors naming the file") {
  const auto& certs = certificates();
  auto message_of = [](auto make) {
    try {
      make();
    } catch (const chat::TlsError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(message_of([] {
          server_context("/nonexistent/cert.pem", "/nonexistent/key.pem");
        }).find("/nonexistent/cert.pem") != std::string::npos);
  CHECK(message_of([&] {
          server_context(certs.server_cert, certs.expired_key);
        }).find("mismatch") != std::string::npos);
  CHECK(message_of([&] {
          server_context(certs.server_key, certs.server_key);
        }).find("cannot load TLS certificate") != std::string::npos);
  CHECK(message_of([] { TlsContext::server({}); }).find("both") != std::string::npos);
  CHECK(message_of([] { client_context("/nonexistent/ca.pem"); }).find("/nonexistent/ca.pem") !=
        std::string::npos);
}

TEST_CASE("close_notify ends the stream after the data that came with it") {
  const auto& certs = certificates();
  TlsChannel client(client_context(certs.ca_cert), "localhost");
  TlsChannel server(server_context(certs.server_cert, certs.server_key));
  Pipe pipe{client, server};
  pipe.pump();
  REQUIRE(client.handshake_done());
  CHECK(server.send("last words"));
  server.close();
  CHECK_FALSE(server.send("too late"));
  std::string records;
  server.take_output(records);  // the data and close_notify, in one read on the other side
  CHECK(client.receive(records, pipe.client_got));
  CHECK(pipe.client_got == "last words");
  CHECK(client.peer_closed());
  CHECK_FALSE(client.failed());
}

TEST_CASE("A verifying client needs a host to check the certificate against") {
  const auto& certs = certificates();
  TlsChannel client(client_context(certs.ca_cert), "");
  CHECK(client.failed());
  CHECK(client.failure().find("host") != std::string::npos);
  CHECK_FALSE(client.has_output());
}
