#pragma once
// A real redis-server for a test: a child process on a free loopback port, without persistence
// unless asked, stopped (SIGKILL) when the object goes away. restart() brings it back on the same
// port, which is how tests take Redis away from a server and give it back.

#include <hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
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
  // extra: more redis-server arguments (a cluster node's, say); port: 0 for any free one.
  explicit RedisProcess(bool durable = false, std::vector<std::string> extra = {},
                        std::uint16_t port = 0)
      : port_(port != 0 ? port : free_loopback_port()),
        dir_(std::filesystem::temp_directory_path() /
             ("chat-redis-" + std::to_string(::getpid()) + "-" + std::to_string(port_))),
        durable_(durable),
        extra_(std::move(extra)) {
    std::filesystem::create_directories(dir_);
    start();
  }
  ~RedisProcess() {
    disconnect();
    process_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::uint16_t port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // One command on the test's own connection to this Redis (opened on first use, again after a
  // restart): its reply as redis-cli prints it, one line per array element, nil as "". For
  // checks on what the server keeps in Redis, polled every few milliseconds by some tests.
  std::string query(const std::vector<std::string>& args) const {
    if (!connection_) connection_ = ::redisConnect("127.0.0.1", port_);
    if (!connection_ || connection_->err) {
      const std::string why = connection_ ? connection_->errstr : "out of memory";
      disconnect();
      throw std::runtime_error("cannot connect to the test's Redis: " + why);
    }
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    auto* reply = static_cast<redisReply*>(::redisCommandArgv(
        connection_, static_cast<int>(args.size()), argv.data(), lengths.data()));
    if (!reply) {
      disconnect();  // the next query connects again (Redis may be restarting)
      return {};
    }
    std::string out = printed(*reply);
    ::freeReplyObject(reply);
    return out;
  }

  void kill() {
    disconnect();
    process_.reset();
  }
  void restart() {
    disconnect();
    process_.reset();
    start();
  }

 private:
  static std::string printed(const redisReply& reply) {
    switch (reply.type) {
      case REDIS_REPLY_INTEGER:
        return std::to_string(reply.integer);
      case REDIS_REPLY_NIL:
        return {};
      case REDIS_REPLY_ARRAY: {
        std::string lines;
        for (std::size_t i = 0; i < reply.elements; ++i) {
          if (i > 0) lines += '\n';
          lines += printed(*reply.element[i]);
        }
        return lines;
      }
      default:
        return std::string(reply.str, reply.len);
    }
  }
  void disconnect() const {
    if (connection_) ::redisFree(connection_);
    connection_ = nullptr;
  }
  void start() {
    std::vector<std::string> args{"/usr/bin/redis-server",
                                  "--port",
                                  std::to_string(port_),
                                  "--bind",
                                  "127.0.0.1",
                                  "--dir",
                                  dir_.string(),
                                  "--save",
                                  "",
                                  "--appendonly",
                                  durable_ ? "yes" : "no",
                                  "--appendfsync",
                                  "always",
                                  "--protected-mode",
                                  "no"};
    args.insert(args.end(), extra_.begin(), extra_.end());
    process_ = std::make_unique<ChildProcess>(std::move(args));
    if (!process_->wait_for_out("Ready to accept connections", std::chrono::seconds(10))) {
      throw std::runtime_error("redis-server did not start: " + process_->out());
    }
  }

  std::uint16_t port_;
  std::filesystem::path dir_;
  bool durable_;
  std::vector<std::string> extra_;
  std::unique_ptr<ChildProcess> process_;
  mutable redisContext* connection_ = nullptr;
};

}  // namespace chat::test
