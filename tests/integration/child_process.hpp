#pragma once
// A program under test as a child process: its stdin a pipe the test writes to, its stdout and
// stderr collected by threads (so the pipes never fill) and searchable with a deadline.

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

extern char** environ;

namespace chat::test {

class ChildProcess {
 public:
  explicit ChildProcess(std::vector<std::string> args) {
    int in[2], out[2], err[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0 || ::pipe(err) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    for (int fd : {in[1], out[0], err[0]}) posix_spawn_file_actions_addclose(&actions, fd);
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const int spawned = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    for (int fd : {in[0], out[1], err[1]}) ::close(fd);
    stdin_ = in[1];
    if (spawned != 0) {
      for (int fd : {in[1], out[0], err[0]}) ::close(fd);
      throw std::runtime_error("cannot start " + args.front());
    }
    readers_.emplace_back([this, fd = out[0]] { collect(fd, stdout_); });
    readers_.emplace_back([this, fd = err[0]] { collect(fd, stderr_); });
  }

  ~ChildProcess() {
    close_stdin();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    for (auto& reader : readers_) reader.join();
  }

  pid_t pid() const { return pid_; }

  void write(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::write(stdin_, bytes.data(), bytes.size());
      if (n <= 0) throw std::runtime_error("the child's stdin is closed");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void close_stdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }

  std::string out() const { return text_of(stdout_); }
  std::string err() const { return text_of(stderr_); }
  // Waits until stdout (or stderr) holds `text` (with whole_line, also the end of its line);
  // false at the deadline or when the stream ended without it.
  bool wait_for_out(std::string_view text, std::chrono::milliseconds deadline,
                    bool whole_line = false) {
    return wait_for(stdout_, text, deadline, whole_line);
  }
  bool wait_for_err(std::string_view text, std::chrono::milliseconds deadline,
                    bool whole_line = false) {
    return wait_for(stderr_, text, deadline, whole_line);
  }
  // Sends a signal (0: none) and waits for the exit status (-1 when it did not exit normally),
  // and for what it wrote to be collected.
  int wait_exit(int signal = 0) {
    if (signal != 0) ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = 0;
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, std::chrono::seconds(5),
                      [&] { return stdout_.ended && stderr_.ended; });
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  struct Stream {
    std::string text;
    bool ended = false;
  };

  void collect(int fd, Stream& stream) {
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0) {
      std::lock_guard lock(mutex_);
      stream.text.append(buffer, static_cast<std::size_t>(n));
      changed_.notify_all();
    }
    ::close(fd);
    std::lock_guard lock(mutex_);
    stream.ended = true;
    changed_.notify_all();
  }
  std::string text_of(const Stream& stream) const {
    std::lock_guard lock(mutex_);
    return stream.text;
  }
  bool wait_for(const Stream& stream, std::string_view text, std::chrono::milliseconds deadline,
                bool whole_line) {
    auto found = [&] {
      const auto at = stream.text.find(text);
      return at != std::string::npos &&
             (!whole_line || stream.text.find('\n', at) != std::string::npos);
    };
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, deadline, [&] { return stream.ended || found(); });
    return found();
  }

  pid_t pid_ = 0;
  int stdin_ = -1;
  std::vector<std::thread> readers_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  Stream stdout_;
  Stream stderr_;
};

}  // namespace chat::test
