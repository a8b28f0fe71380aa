#pragma once
// chat-server as a child process: started with the given flags on an ephemeral port (read from its
// log), its stderr collected by a thread so the pipe never fills, stopped with a signal.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace chat::test {

class ServerProcess {
 public:
  // `shell_prefix`, when set, runs the server through `bash -c "<prefix> exec chat-server ..."`
  // (e.g. "ulimit -n 64;").
  explicit ServerProcess(std::vector<std::string> flags, const std::string& shell_prefix = "") {
    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
    std::vector<std::string> args{CHAT_SERVER_BINARY, "--listen", "127.0.0.1:0", "--log-level",
                                  "info"};
    args.insert(args.end(), flags.begin(), flags.end());
    if (!shell_prefix.empty()) {
      std::string command = shell_prefix + " exec";
      for (const auto& arg : args) command += " '" + arg + "'";
      args = {"/bin/bash", "-c", command};
    }
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int spawned = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    if (spawned != 0) {
      ::close(pipe_fds[0]);
      throw std::runtime_error("cannot start chat-server");
    }
    reader_ = std::thread([this, fd = pipe_fds[0]] {
      char buffer[4096];
      ssize_t n;
      while ((n = ::read(fd, buffer, sizeof buffer)) > 0) {
        std::lock_guard lock(mutex_);
        log_.append(buffer, static_cast<std::size_t>(n));
        changed_.notify_all();
      }
      ::close(fd);
      std::lock_guard lock(mutex_);
      eof_ = true;
      changed_.notify_all();
    });
    const std::string marker = "listening on 127.0.0.1:";
    if (!wait_for_log(marker + "%", std::chrono::seconds(10)))
      throw std::runtime_error("chat-server did not start: " + log());
    const std::string text = log();
    port_ = static_cast<std::uint16_t>(std::stoi(text.substr(text.find(marker) + marker.size())));
  }

  ~ServerProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (reader_.joinable()) reader_.join();
  }

  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const {
    std::lock_guard lock(mutex_);
    return log_;
  }
  std::size_t count_in_log(const std::string& text) const {
    const std::string all = log();
    std::size_t count = 0;
    for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + 1)) ++count;
    return count;
  }
  // Waits until the log holds `text` (a trailing '%' means "followed by one more byte").
  bool wait_for_log(std::string text, std::chrono::milliseconds deadline) {
    const bool needs_more = !text.empty() && text.back() == '%';
    if (needs_more) text.pop_back();
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, deadline, [&] {
      const auto at = log_.find(text);
      return eof_ ||
             (at != std::string::npos && (!needs_more || log_.size() > at + text.size() + 5));
    }) && log_.find(text) != std::string::npos;
  }
  // Sends a signal and waits for the exit status (-1 when it did not exit normally).
  int stop(int signal = SIGTERM) {
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  // User + system CPU seconds so far, from /proc.
  double cpu_seconds() const {
    FILE* file = std::fopen(("/proc/" + std::to_string(pid_) + "/stat").c_str(), "r");
    if (!file) return -1;
    char line[2048] = {};
    const std::size_t n = std::fread(line, 1, sizeof line - 1, file);
    std::fclose(file);
    std::string text(line, n);
    std::size_t at = text.rfind(')') + 2;
    double utime = 0;
    double stime = 0;
    for (int field = 3; field <= 15; ++field) {
      const std::size_t next = text.find(' ', at);
      if (field == 14) utime = std::stod(text.substr(at, next - at));
      if (field == 15) stime = std::stod(text.substr(at, next - at));
      at = next + 1;
    }
    return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }

 private:
  pid_t pid_ = 0;
  std::uint16_t port_ = 0;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string log_;
  bool eof_ = false;
};

}  // namespace chat::test
