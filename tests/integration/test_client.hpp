#pragma once
// A blocking test client over a real TCP socket: send frames, wait (with a deadline) for the
// frames a test expects. Deliberately simple and independent of the server's code, so a test
// checks the server from the outside.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat.pb.h"
#include "framing.hpp"

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

  int fd_ = -1;
  bool closed_ = false;
  std::uint64_t next_request_id_ = 1;
  FrameDecoder decoder_{16 * 1024 * 1024};
  std::vector<v1::ServerFrame> skipped_;
};

v1::ClientFrame hello_frame(const std::string& nick);

}  // namespace chat::test
