#include "tls_channel.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <new>
#include <stdexcept>

namespace chat {
namespace {

constexpr std::size_t read_chunk = 16 * 1024;
constexpr std::size_t idle_buffer_limit = 64 * 1024;

bio_st* new_memory_bio() {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) throw std::bad_alloc();
  // An empty memory BIO means "no data yet", not end of file.
  BIO_set_mem_eof_return(bio, -1);
  return bio;
}

std::size_t capacity_of(BIO* bio) {
  BUF_MEM* memory = nullptr;
  BIO_get_mem_ptr(bio, &memory);
  return memory ? memory->max : 0;
}

bool is_ip_address(const std::string& host) {
  ASN1_OCTET_STRING* ip = a2i_IPADDRESS(host.c_str());
  if (!ip) return false;
  ASN1_OCTET_STRING_free(ip);
  return true;
}

}  // namespace

TlsChannel::TlsChannel(std::shared_ptr<TlsContext> context, const std::string& host)
    : context_(std::move(context)) {
  ERR_clear_error();
  ssl_ = SSL_new(context_->native());
  if (!ssl_) throw std::bad_alloc();
  try {
    network_in_ = new_memory_bio();
    network_out_ = new_memory_bio();
  } catch (...) {
    BIO_free(network_in_);
    SSL_free(ssl_);
    throw;
  }
  SSL_set_bio(ssl_, network_in_, network_out_);
  SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);  // idle connections keep no record buffers
  if (context_->is_server()) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  // A client that verifies checks the name it connected to; without one there is nothing to check
  // the certificate against, so the channel refuses to start.
  bool host_set = !context_->verifies_peer();
  if (is_ip_address(host)) {
    if (context_->verifies_peer())
      host_set = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str()) == 1;
  } else if (!host.empty()) {
    // SSL_set_tlsext_host_name without its C cast.
    SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host.c_str()));
    if (context_->verifies_peer()) host_set = SSL_set1_host(ssl_, host.c_str()) == 1;
  }
  if (!host_set) {
    failure_ = "cannot check the server's certificate against host '" + host + "'";
    ERR_clear_error();
    return;
  }
  advance(nullptr);  // the ClientHello
}

TlsChannel::~TlsChannel() { SSL_free(ssl_); }

bool TlsChannel::receive(std::string_view bytes, std::string& plaintext) {
  if (failed()) return false;
  if (!bytes.empty() && BIO_write(network_in_, bytes.data(), static_cast<int>(bytes.size())) <= 0)
    return fail_with(SSL_ERROR_SSL);
  const bool ok = advance(&plaintext);
  shrink_idle_buffers();
  return ok;
}

bool TlsChannel::send(std::string_view plaintext) {
  if (failed() || closed_) return false;
  if (!handshake_done_) {
    waiting_.append(plaintext);
    return true;
  }
  while (!plaintext.empty()) {
    ERR_clear_error();
    const int written = SSL_write(ssl_, plaintext.data(), static_cast<int>(plaintext.size()));
    if (written <= 0) return fail_with(SSL_get_error(ssl_, written));
    plaintext.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

void TlsChannel::close() {
  if (failed() || closed_ || !handshake_done_) return;
  closed_ = true;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // writes close_notify; the peer's answer is not waited for
  ERR_clear_error();
}

bool TlsChannel::advance(std::string* plaintext) {
  if (!handshake_done_) {
    ERR_clear_error();
    const int result = SSL_do_handshake(ssl_);
    if (result != 1) {
      const int error = SSL_get_error(ssl_, result);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return true;
      return fail_with(error);
    }
    handshake_done_ = true;
    std::string waiting;
    waiting.swap(waiting_);
    if (!send(waiting)) return false;
  }
  if (!plaintext) return true;
  for (;;) {
    const std::size_t old_size = plaintext->size();
    plaintext->resize(old_size + read_chunk);
    ERR_clear_error();
    const int n = SSL_read(ssl_, plaintext->data() + old_size, static_cast<int>(read_chunk));
    plaintext->resize(old_size + static_cast<std::size_t>(n > 0 ? n : 0));
    if (n > 0) continue;
    const int error = SSL_get_error(ssl_, n);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) return true;
    if (error == SSL_ERROR_ZERO_RETURN) {
      peer_closed_ = true;
      return true;
    }
    return fail_with(error);
  }
}

bool TlsChannel::fail_with(int ssl_error) {
  std::string reason;
  if (!context_->is_server() && context_->verifies_peer()) {
    const long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK) {
      reason = std::string("certificate rejected: ") + X509_verify_cert_error_string(verify);
      certificate_rejected_ = true;
    }
  }
  if (reason.empty()) reason = take_openssl_errors();
  if (reason.empty()) reason = "TLS error " + std::to_string(ssl_error);
  ERR_clear_error();
  failure_ = reason;
  return false;
}

bool TlsChannel::has_output() const { return BIO_ctrl_pending(network_out_) > 0; }

void TlsChannel::take_output(std::string& out) {
  const std::size_t pending = BIO_ctrl_pending(network_out_);
  if (pending == 0) return;
  const std::size_t old_size = out.size();
  out.resize(old_size + pending);
  const int n = BIO_read(network_out_, out.data() + old_size, static_cast<int>(pending));
  out.resize(old_size + static_cast<std::size_t>(n > 0 ? n : 0));
  shrink_idle_buffers();
}

void TlsChannel::shrink_idle_buffers() {
  if (BIO_ctrl_pending(network_in_) == 0 && capacity_of(network_in_) > idle_buffer_limit) {
    network_in_ = new_memory_bio();
    SSL_set0_rbio(ssl_, network_in_);  // frees the old one
  }
  if (BIO_ctrl_pending(network_out_) == 0 && capacity_of(network_out_) > idle_buffer_limit) {
    network_out_ = new_memory_bio();
    SSL_set0_wbio(ssl_, network_out_);
  }
}

std::string TlsChannel::protocol() const { return handshake_done_ ? SSL_get_version(ssl_) : ""; }

bool looks_like_plaintext(std::string_view first_bytes) {
  // A TLS connection opens with a handshake record: content type 22, then version major 3.
  if (first_bytes.empty()) return false;
  if (static_cast<unsigned char>(first_bytes[0]) != 22) return true;
  return first_bytes.size() >= 2 && static_cast<unsigned char>(first_bytes[1]) != 3;
}

}  // namespace chat
