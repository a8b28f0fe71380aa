#pragma once
// TLS settings shared by every connection of one side: certificates, protocol floor, ciphers and
// peer verification. Built once, then shared (a connection keeps its context alive); reloading
// certificates builds a new one, so connections made before keep the old one.

#include <memory>
#include <stdexcept>
#include <string>

struct ssl_ctx_st;

namespace chat {

// A one-line reason a context could not be built: a file that is missing, unreadable or not a
// matching key and certificate, with OpenSSL's own words for it.
struct TlsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct TlsServerFiles {
  std::string cert_file;  // PEM: the server certificate, then any intermediates
  std::string key_file;   // PEM: its private key
};

struct TlsClientSettings {
  std::string ca_file{};  // PEM bundle to trust; empty: the system's trust store
  bool verify = true;     // false (--insecure): any certificate and host name are accepted
};

class TlsContext {
 public:
  // Throws TlsError.
  static std::shared_ptr<TlsContext> server(const TlsServerFiles& files);
  static std::shared_ptr<TlsContext> client(const TlsClientSettings& settings);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  ssl_ctx_st* native() const { return context_; }
  bool is_server() const { return is_server_; }
  bool verifies_peer() const { return verifies_peer_; }

 private:
  TlsContext(ssl_ctx_st* context, bool is_server, bool verifies_peer);

  ssl_ctx_st* context_;
  bool is_server_;
  bool verifies_peer_;
};

// OpenSSL's description of the errors queued on this thread (and clears the queue).
std::string take_openssl_errors();

}  // namespace chat
