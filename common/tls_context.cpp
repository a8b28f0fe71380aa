#include "tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace chat {
namespace {

// TLS 1.2 suites with forward secrecy and AEAD only (Mozilla's "intermediate" list); TLS 1.3 keeps
// OpenSSL's defaults, which are all of that kind.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct ContextDeleter {
  void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};
using ContextPtr = std::unique_ptr<SSL_CTX, ContextDeleter>;

[[noreturn]] void fail(const std::string& what) {
  const std::string reason = take_openssl_errors();
  throw TlsError(reason.empty() ? what : what + ": " + reason);
}

ContextPtr make_context(const SSL_METHOD* method) {
  ContextPtr context(SSL_CTX_new(method));
  if (!context) fail("cannot create a TLS context");
  SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(context.get(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // An encrypted key file must fail to load, not ask for a passphrase on the terminal.
  SSL_CTX_set_default_passwd_cb(context.get(), [](char*, int, int, void*) { return 0; });
  if (SSL_CTX_set_cipher_list(context.get(), tls12_ciphers) != 1) fail("bad TLS cipher list");
  return context;
}

}  // namespace

std::string take_openssl_errors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    // "error:0A000086:SSL routines::certificate verify failed" -> the part after the last ':'
    std::string line = buffer;
    if (const auto colon = line.rfind(':'); colon != std::string::npos) line.erase(0, colon + 1);
    if (!text.empty()) text += "; ";
    text += line;
  }
  return text;
}

TlsContext::TlsContext(SSL_CTX* context, bool is_server, bool verifies_peer)
    : context_(context), is_server_(is_server), verifies_peer_(verifies_peer) {}

TlsContext::~TlsContext() { SSL_CTX_free(context_); }

std::shared_ptr<TlsContext> TlsContext::server(const TlsServerFiles& files) {
  ERR_clear_error();
  if (files.cert_file.empty() || files.key_file.empty())
    throw TlsError("TLS needs both a certificate file and a key file");
  ContextPtr context = make_context(TLS_server_method());
  SSL_CTX_set_options(context.get(), SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  // No resumption (no tickets, no session cache): nothing to send after the handshake, and nothing
  // kept per client.
  SSL_CTX_set_num_tickets(context.get(), 0);
  SSL_CTX_set_session_cache_mode(context.get(), SSL_SESS_CACHE_OFF);
  if (SSL_CTX_use_certificate_chain_file(context.get(), files.cert_file.c_str()) != 1)
    fail("cannot load TLS certificate " + files.cert_file);
  if (SSL_CTX_use_PrivateKey_file(context.get(), files.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    fail("cannot load TLS key " + files.key_file);
  if (SSL_CTX_check_private_key(context.get()) != 1)
    fail("TLS key " + files.key_file + " does not match certificate " + files.cert_file);
  return std::shared_ptr<TlsContext>(new TlsContext(context.release(), true, false));
}

std::shared_ptr<TlsContext> TlsContext::client(const TlsClientSettings& settings) {
  ERR_clear_error();
  ContextPtr context = make_context(TLS_client_method());
  if (settings.verify) {
    if (!settings.ca_file.empty()) {
      if (SSL_CTX_load_verify_locations(context.get(), settings.ca_file.c_str(), nullptr) != 1)
        fail("cannot load CA file " + settings.ca_file);
    } else if (SSL_CTX_set_default_verify_paths(context.get()) != 1) {
      fail("cannot load the system's trusted certificates");
    }
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(context.get(), SSL_VERIFY_NONE, nullptr);
  }
  return std::shared_ptr<TlsContext>(new TlsContext(context.release(), false, settings.verify));
}

}  // namespace chat
