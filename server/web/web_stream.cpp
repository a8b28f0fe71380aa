#include "web_stream.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "tls_channel.hpp"

namespace chat::server {
namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);
}

WebStream::WebStream(asio::ip::tcp::socket& socket, std::vector<char>& read_buffer,
                     std::unique_ptr<TlsChannel> tls)
    : socket_(socket), read_buffer_(read_buffer), tls_(std::move(tls)) {}

WebStream::~WebStream() = default;

asio::awaitable<bool> WebStream::read_some(std::string& plaintext) {
  const auto before = plaintext.size();
  while (plaintext.size() == before) {
    auto [wait_error] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, use_tuple);
    if (wait_error) co_return false;
    asio::error_code ec;
    const std::size_t n = socket_.read_some(asio::buffer(read_buffer_), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
    if (ec) co_return false;
    const std::string_view bytes(read_buffer_.data(), n);
    if (!tls_) {
      plaintext.append(bytes);
      co_return true;
    }
    if (!tls_->receive(bytes, plaintext)) co_return false;
    if (!co_await flush_tls()) co_return false;  // what the channel owes the peer (a key update)
    if (tls_->peer_closed() && plaintext.size() == before) co_return false;
  }
  co_return true;
}

asio::awaitable<bool> WebStream::write(std::string_view plaintext) {
  if (!tls_) {
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(plaintext), use_tuple);
    co_return !ec;
  }
  if (!tls_->send(plaintext)) co_return false;
  co_return co_await flush_tls();
}

asio::awaitable<bool> WebStream::flush_tls() {
  if (!tls_->has_output()) co_return true;
  ciphertext_.clear();
  tls_->take_output(ciphertext_);
  auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(ciphertext_), use_tuple);
  co_return !ec;
}

std::unique_ptr<TlsChannel> WebStream::take_tls() { return std::move(tls_); }

}  // namespace chat::server
