#pragma once
// A blocking test client over a real TCP socket: send frames, wait (with a deadline) for the
// frames a test expects. Deliberately simple and independent of the server's code, so a test
// checks the server from the outside.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat.pb.h"
#include "framing.hpp"

namespace chat::loadtest {
class ClientWire;
}

namespace chat::test {

using namespace std::chrono_literals;
inline constexpr auto default_deadline = 10s;

class TestClient {
 public:
  explicit TestClient(std::uint16_t port, const char* host = "127.0.0.1");
  ~TestClient();
  TestClient(TestClient&& other) noexcept;
  TestClient(const TestClient&) = delete;

  // Connects, sends Hello and waits for Welcome (throws std::runtime_error on anything else).
  static TestClient connect_as(std::uint16_t port, const std::string& nick,
                               std::vector<v1::ResumeRoom> resume = {});
  // The same over WebSocket (subprotocol chat.v1) at /ws of a web listener: frames are binary
  // messages, pings are answered, and a close frame ends the connection (see close_code()).
  static TestClient websocket(std::uint16_t web_port);
  static TestClient websocket_as(std::uint16_t web_port, const std::string& nick);
  // The status of the server's WebSocket close frame, once one came (0 before).
  std::uint16_t close_code() const { return close_code_; }
  const std::string& close_reason() const { return close_reason_; }

  std::uint64_t send(v1::ClientFrame frame);  // assigns and returns a request id
  void write_raw(std::string_view bytes);
  void shutdown_write();

  // The next frame, or nullopt at the deadline or when the server closed the connection.
  std::optional<v1::ServerFrame> next(std::chrono::milliseconds deadline = default_deadline);
  // Reads until a frame matches; frames before it are kept in skipped(). nullopt at the deadline.
  std::optional<v1::ServerFrame> wait_for(const std::function<bool(const v1::ServerFrame&)>& match,
                                          std::chrono::milliseconds deadline = default_deadline);
  // The reply (or Error) to a request id.
  std::optional<v1::ServerFrame> reply_to(std::uint64_t request_id,
                                          std::chrono::milliseconds deadline = default_deadline);
  // Waits for the server to close the connection; returns the Disconnect frame if one came.
  std::optional<v1::Disconnect> wait_closed(std::chrono::milliseconds deadline = default_deadline);
  bool closed() const { return closed_; }

  // Convenience requests; each waits for its reply.
  v1::ServerFrame join(const std::string& room);
  v1::ServerFrame say(const std::string& room, const std::string& text,
                      std::uint64_t client_msg_id = 0);

  std::vector<v1::ServerFrame>& skipped() { return skipped_; }
  int fd() const { return fd_; }

 private:
  bool fill(std::chrono::steady_clock::time_point until);
  std::optional<v1::ServerFrame> next_websocket_frame();
  static TestClient hello_as(TestClient client, const std::string& nick,
                             std::vector<v1::ResumeRoom> resume);

  int fd_ = -1;
  bool closed_ = false;
  std::uint64_t next_request_id_ = 1;
  FrameDecoder decoder_{16 * 1024 * 1024};
  std::vector<v1::ServerFrame> skipped_;
  std::unique_ptr<loadtest::ClientWire> websocket_;  // null: chat.v1 on the chat port
  std::string websocket_input_;
  std::uint16_t close_code_ = 0;
  std::string close_reason_;
};

v1::ClientFrame hello_frame(const std::string& nick);

}  // namespace chat::test
