#pragma once
// chat-server as a child process: started with the given flags on an ephemeral port (read from its
// log), stopped with a signal.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace chat::test {

class ServerProcess {
 public:
  // `shell_prefix`, when set, runs the server through `bash -c "<prefix> exec chat-server ..."`
  // (e.g. "ulimit -n 64;").
  explicit ServerProcess(std::vector<std::string> flags, const std::string& shell_prefix = "") {
    std::vector<std::string> args{
        CHAT_SERVER_BINARY, "--listen", "127.0.0.1:0", "--log-level", "info", "--web", "", "--irc-listen", ""};
    args.insert(args.end(), flags.begin(), flags.end());
    // A store of its own unless the test picks one (a data directory in the test's cwd otherwise).
    if (std::find(flags.begin(), flags.end(), "--data-dir") == flags.end()) {
      args.insert(args.end(), {"--storage", "temporary", "--hash-cost", "minimum"});
    }
    if (!shell_prefix.empty()) {
      std::string command = shell_prefix + " exec";
      for (const auto& arg : args) command += " '" + arg + "'";
      args = {"/bin/bash", "-c", command};
    }
    child_ = std::make_unique<ChildProcess>(std::move(args));
    port_ = logged_port("listening on 127.0.0.1:");
  }

  std::uint16_t port() const { return port_; }
  // The port its log names right after `marker` (e.g. "listening for TLS on 127.0.0.1:"), once the
  // line is there; throws when it does not come.
  std::uint16_t logged_port(const std::string& marker) {
    if (!wait_for_log(marker + "%", std::chrono::seconds(10)))
      throw std::runtime_error("chat-server did not log '" + marker + "': " + log());
    const std::string text = log();
    return static_cast<std::uint16_t>(std::stoi(text.substr(text.find(marker) + marker.size())));
  }
  pid_t pid() const { return child_->pid(); }
  std::string log() const { return child_->err(); }
  std::size_t count_in_log(const std::string& text) const {
    const std::string all = log();
    std::size_t count = 0;
    for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + 1)) ++count;
    return count;
  }
  // Waits until the log holds `text` (a trailing '%' means "and the rest of its line").
  bool wait_for_log(std::string text, std::chrono::milliseconds deadline) {
    const bool whole_line = !text.empty() && text.back() == '%';
    if (whole_line) text.pop_back();
    return child_->wait_for_err(text, deadline, whole_line);
  }
  // Sends a signal and waits for the exit status (-1 when it did not exit normally).
  int stop(int signal = SIGTERM) { return child_->wait_exit(signal); }
  // User + system CPU seconds so far, from /proc.
  double cpu_seconds() const {
    FILE* file = std::fopen(("/proc/" + std::to_string(pid()) + "/stat").c_str(), "r");
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
  std::unique_ptr<ChildProcess> child_;
  std::uint16_t port_ = 0;
};

}  // namespace chat::test
