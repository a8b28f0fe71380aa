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

TestClient::TestClient(TestClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      closed_(other.closed_),
      next_request_id_(other.next_request_id_),
      decoder_(std::move(other.decoder_)),
      skipped_(std::move(other.skipped_)) {}

TestClient TestClient::connect_as(std::uint16_t port, const std::string& nick,
                                  std::vector<v1::ResumeRoom> resume) {
  TestClient client(port);
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
  write_raw(encode_frame(frame)->bytes);
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
    const auto status = decoder_.next(frame);
    if (status == DecodeStatus::frame) return frame;
    if (status == DecodeStatus::error) throw std::runtime_error("bad frame from server");
    if (closed_ || !fill(until)) return std::nullopt;
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
