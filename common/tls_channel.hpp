#pragma once
// One TLS connection without I/O: bytes read from the socket go in, plaintext comes out; plaintext
// to send goes in, bytes to write come out. The callers keep their own socket loops
// (readiness-based reads, non-blocking writes), which asio::ssl::stream would have replaced with
// its own.

#include <memory>
#include <string>
#include <string_view>

#include "tls_context.hpp"

struct ssl_st;
struct bio_st;

namespace chat {

class TlsChannel {
 public:
  // A client channel checks the server's certificate against host (a name or an IP address) when
  // its context verifies, and starts the handshake at once: see take_output().
  explicit TlsChannel(std::shared_ptr<TlsContext> context, const std::string& host = {});
  ~TlsChannel();
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  // Takes bytes that arrived from the peer and appends the application data they complete to
  // plaintext. False once the connection cannot go on (failure() says why).
  bool receive(std::string_view bytes, std::string& plaintext);
  // Encrypts application data. Data sent before the handshake ends waits inside the channel.
  bool send(std::string_view plaintext);
  // Queues close_notify, the end of the stream as TLS says it (see take_output).
  void close();

  // Bytes for the peer: handshake messages, records, alerts.
  bool has_output() const;
  void take_output(std::string& out);  // appends

  bool handshake_done() const { return handshake_done_; }
  bool failed() const { return !failure_.empty(); }
  const std::string& failure() const { return failure_; }
  bool peer_closed() const { return peer_closed_; }  // the peer sent close_notify
  // A client channel refused the server's certificate (expired, wrong host, unknown CA).
  bool certificate_rejected() const { return certificate_rejected_; }
  std::string protocol() const;  // "TLSv1.3", once the handshake is done

 private:
  bool advance(std::string* plaintext);
  bool fail_with(int ssl_error);
  // Memory BIOs keep their largest size: a connection that once moved a big batch would hold that
  // much for life. An empty BIO grown past a few records is replaced by a fresh one.
  void shrink_idle_buffers();

  std::shared_ptr<TlsContext> context_;
  ssl_st* ssl_ = nullptr;
  bio_st* network_in_ = nullptr;   // owned by ssl_
  bio_st* network_out_ = nullptr;  // owned by ssl_
  std::string waiting_;            // sent before the handshake ended
  bool handshake_done_ = false;
  bool closed_ = false;
  bool peer_closed_ = false;
  bool certificate_rejected_ = false;
  std::string failure_;
};

// True when bytes (the first a peer sent) cannot be the start of a TLS handshake: a plain-text
// client on a TLS port.
bool looks_like_plaintext(std::string_view first_bytes);

}  // namespace chat
