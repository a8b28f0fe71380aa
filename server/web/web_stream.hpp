#pragma once
// The bytes of a web connection before it becomes a Session: plain, or through the TLS channel
// of a finished handshake. Reads and writes are bounded by the caller's SocketDeadline. Reads
// wait for readability and then read into the shard's buffer (the socket is non-blocking), so a
// connection waiting for its request holds no read buffer of its own.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chat {
class TlsChannel;
}

namespace chat::server {

class WebStream {
 public:
  WebStream(asio::ip::tcp::socket& socket, std::vector<char>& read_buffer,
            std::unique_ptr<TlsChannel> tls);
  ~WebStream();

  // Appends what arrived (decrypted); false when the peer closed or the connection failed.
  asio::awaitable<bool> read_some(std::string& plaintext);
  asio::awaitable<bool> write(std::string_view plaintext);
  // The TLS channel, for the Session the connection becomes.
  std::unique_ptr<TlsChannel> take_tls();

 private:
  asio::awaitable<bool> flush_tls();

  asio::ip::tcp::socket& socket_;
  std::vector<char>& read_buffer_;
  std::unique_ptr<TlsChannel> tls_;
  std::string ciphertext_;
};

}  // namespace chat::server
