#pragma once
// A real redis-server for a test: a child process on a free loopback port, without persistence
// unless asked, stopped (SIGKILL) when the object goes away. restart() brings it back on the same
// port, which is how tests take Redis away from a server and give it back.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace chat::test {

inline std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("no free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

class RedisProcess {
 public:
  // durable: append-only file with an fsync per write, so a restart loses nothing acknowledged.
  explicit RedisProcess(bool durable = false)
      : port_(free_loopback_port()),
        dir_(std::filesystem::temp_directory_path() /
             ("chat-redis-" + std::to_string(::getpid()) + "-" + std::to_string(port_))),
        durable_(durable) {
    std::filesystem::create_directories(dir_);
    start();
  }
  ~RedisProcess() {
    process_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // One command through redis-cli (the test's own arguments: no quoting beyond single quotes);
  // its reply, trailing newline removed. For checks on what the server keeps in Redis.
  std::string query(const std::vector<std::string>& args) const {
    std::string command = "/usr/bin/redis-cli -p " + std::to_string(port_);
    for (const auto& arg : args) command += " '" + arg + "'";
    std::FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) throw std::runtime_error("cannot run redis-cli");
    std::string out;
    char buffer[4096];
    while (const std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
    ::pclose(pipe);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  void kill() { process_.reset(); }
  void restart() {
    process_.reset();
    start();
  }

 private:
  void start() {
    process_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        "/usr/bin/redis-server", "--port", std::to_string(port_), "--bind", "127.0.0.1", "--dir",
        dir_.string(), "--save", "", "--appendonly", durable_ ? "yes" : "no", "--appendfsync",
        "always", "--protected-mode", "no"});
    if (!process_->wait_for_out("Ready to accept connections", std::chrono::seconds(10))) {
      throw std::runtime_error("redis-server did not start: " + process_->out());
    }
  }

  std::uint16_t port_;
  std::filesystem::path dir_;
  bool durable_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace chat::test
