#include "test_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "client_wire.hpp"

namespace chat::test {

v1::ClientFrame hello_frame(const std::string& nick) {
  v1::ClientFrame frame;
  frame.mutable_hello()->set_protocol_version(1);
  frame.mutable_hello()->set_nick(nick);
  frame.mutable_hello()->set_client_name("chat-tests");
  return frame;
}

TestClient::TestClient(std::uint16_t port, const char* host) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  ::inet_pton(AF_INET, host, &address.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    const std::string error = std::strerror(errno);
    ::close(fd_);
    throw std::runtime_error("connect: " + error);
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

TestClient::~TestClient() {
  if (fd_ >= 0) ::close(fd_);
}

TestClient TestClient::websocket(std::uint16_t web_port) {
  TestClient client(web_port);
  client.websocket_ = std::make_unique<loadtest::ClientWire>(loadtest::Transport::websocket);
  client.write_raw(client.websocket_->upgrade_request("127.0.0.1", web_port));
  const auto until = std::chrono::steady_clock::now() + default_deadline;
  for (;;) {
    bool ok = false;
    if (const auto head = loadtest::ClientWire::upgrade_response(client.websocket_input_, ok)) {
      if (!ok) throw std::runtime_error("upgrade refused: " + client.websocket_input_);
      client.websocket_input_.erase(0, head);
      return client;
    }
    if (!client.fill(until)) throw std::runtime_error("no answer to the WebSocket upgrade");
  }
}

TestClient TestClient::websocket_as(std::uint16_t web_port, const std::string& nick) {
  return hello_as(websocket(web_port), nick, {});
}

TestClient::TestClient(TestClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      closed_(other.closed_),
      next_request_id_(other.next_request_id_),
      decoder_(std::move(other.decoder_)),
      skipped_(std::move(other.skipped_)),
      websocket_(std::move(other.websocket_)),
      websocket_input_(std::move(other.websocket_input_)),
      close_code_(other.close_code_),
      close_reason_(std::move(other.close_reason_)) {}

TestClient TestClient::connect_as(std::uint16_t port, const std::string& nick,
                                  std::vector<v1::ResumeRoom> resume) {
  return hello_as(TestClient(port), nick, std::move(resume));
}

TestClient TestClient::hello_as(TestClient client, const std::string& nick,
                                std::vector<v1::ResumeRoom> resume) {
  auto hello = hello_frame(nick);
  for (auto& room : resume) *hello.mutable_hello()->add_resume() = room;
  const auto id = client.send(hello);
  const auto reply = client.reply_to(id);
  if (!reply || !reply->has_welcome()) {
    throw std::runtime_error("no Welcome for " + nick +
                             (reply ? ": " + reply->ShortDebugString() : ""));
  }
  return client;
}

std::uint64_t TestClient::send(v1::ClientFrame frame) {
  if (frame.request_id() == 0) frame.set_request_id(next_request_id_++);
  if (websocket_) {
    std::string bytes;
    websocket_->append(bytes, frame);
    write_raw(bytes);
  } else {
    write_raw(encode_frame(frame)->bytes);
  }
  return frame.request_id();
}

void TestClient::write_raw(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) {
      if (errno == EINTR) continue;
      return;  // the server closed: the test finds out when it reads
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void TestClient::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

bool TestClient::fill(std::chrono::steady_clock::time_point until) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      until - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  if (websocket_) {
    char buffer[16384];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    websocket_input_.append(buffer, static_cast<std::size_t>(n));
    return true;
  }
  const auto space = decoder_.prepare();
  const ssize_t n = ::recv(fd_, space.data(), space.size(), 0);
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  decoder_.commit(static_cast<std::size_t>(n));
  return true;
}

std::optional<v1::ServerFrame> TestClient::next(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  v1::ServerFrame frame;
  for (;;) {
    if (websocket_) {
      if (auto message = next_websocket_frame()) return message;
      if (closed_ || !fill(until)) return std::nullopt;
      continue;
    }
    const auto status = decoder_.next(frame);
    if (status == DecodeStatus::frame) return frame;
    if (status == DecodeStatus::error) throw std::runtime_error("bad frame from server");
    if (closed_ || !fill(until)) return std::nullopt;
  }
}

std::optional<v1::ServerFrame> TestClient::next_websocket_frame() {
  for (;;) {
    loadtest::ServerUnit unit;
    std::size_t used = 0;
    const auto status = websocket_->next(websocket_input_, unit, used);
    if (status == loadtest::UnitStatus::need_more) return std::nullopt;
    if (status == loadtest::UnitStatus::error)
      throw std::runtime_error("bad WebSocket frame from server");
    const std::string body(unit.body);
    websocket_input_.erase(0, used);
    if (unit.kind == loadtest::ServerUnit::Kind::frame) {
      v1::ServerFrame frame;
      if (!frame.ParseFromString(body)) throw std::runtime_error("bad frame from server");
      return frame;
    }
    if (unit.kind == loadtest::ServerUnit::Kind::ping) {
      std::string pong;
      websocket_->append_pong(pong, body);
      write_raw(pong);
    } else if (unit.kind == loadtest::ServerUnit::Kind::close && body.size() >= 2) {
      close_code_ = static_cast<std::uint16_t>(static_cast<unsigned char>(body[0]) << 8 |
                                               static_cast<unsigned char>(body[1]));
      close_reason_ = body.substr(2);
    }
  }
}

std::optional<v1::ServerFrame> TestClient::wait_for(
    const std::function<bool(const v1::ServerFrame&)>& match, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    auto frame = next(std::max(left, std::chrono::milliseconds(0)));
    if (!frame) return std::nullopt;
    if (match(*frame)) return frame;
    skipped_.push_back(std::move(*frame));
  }
}

std::optional<v1::ServerFrame> TestClient::reply_to(std::uint64_t request_id,
                                                    std::chrono::milliseconds deadline) {
  return wait_for([&](const v1::ServerFrame& f) { return f.request_id() == request_id; }, deadline);
}

std::optional<v1::Disconnect> TestClient::wait_closed(std::chrono::milliseconds deadline) {
  std::optional<v1::Disconnect> disconnect;
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (!closed_ && std::chrono::steady_clock::now() < until) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    auto frame = next(left);
    if (!frame) continue;
    if (frame->has_disconnect()) {
      disconnect = frame->disconnect();
    } else {
      skipped_.push_back(std::move(*frame));
    }
  }
  return closed_ ? disconnect : std::nullopt;
}

v1::ServerFrame TestClient::join(const std::string& room) {
  v1::ClientFrame frame;
  frame.mutable_join()->set_room(room);
  frame.mutable_join()->set_history(-1);
  auto reply = reply_to(send(frame));
  if (!reply) throw std::runtime_error("no reply to Join " + room);
  return *reply;
}

v1::ServerFrame TestClient::say(const std::string& room, const std::string& text,
                                std::uint64_t client_msg_id) {
  v1::ClientFrame frame;
  frame.mutable_send()->set_room(room);
  frame.mutable_send()->set_text(text);
  frame.mutable_send()->set_client_msg_id(client_msg_id);
  auto reply = reply_to(send(frame));
  if (!reply) throw std::runtime_error("no reply to Send in " + room);
  return *reply;
}

}  // namespace chat::test
