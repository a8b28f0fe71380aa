// Configuration from TOML and flags: precedence, and a one-line error naming the key.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "command_line.hpp"
#include "config.hpp"

using namespace chat::server;

namespace {

struct TempFile {
  explicit TempFile(const std::string& text)
      : path(std::filesystem::temp_directory_path() /
             // The pid too: ctest -j runs the 1-shard and 4-shard suites side by side.
             ("chat-config-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
              ".toml")) {
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
  std::filesystem::path path;
  static inline int counter = 0;
};

struct Parsed {
  std::variant<CommandLine, int> result;
  std::string out;
  std::string err;
};

Parsed parse(std::vector<std::string> args) {
  args.insert(args.begin(), "chat-server");
  std::vector<const char*> argv;
  for (auto& arg : args) argv.push_back(arg.c_str());
  std::ostringstream out;
  std::ostringstream err;
  auto result = parse_command_line(static_cast<int>(argv.size()), argv.data(), out, err);
  return {std::move(result), out.str(), err.str()};
}

int exit_code(const Parsed& parsed) {
  return std::holds_alternative<int>(parsed.result) ? std::get<int>(parsed.result) : -1;
}

}  // namespace

TEST_CASE("no flags: the embedded defaults") {
  const auto parsed = parse({});
  const auto& config = std::get<CommandLine>(parsed.result).config;
  CHECK(config.listen == "127.0.0.1:7777");
  CHECK(config.data_dir == "./data");
}

TEST_CASE("the file overrides defaults and flags override the file") {
  TempFile file(
      "[server]\nlisten = \"127.0.0.1:9000\"\nshards = 3\n[limits]\nmax_text_bytes = "
      "1000\nmessages_per_second = 7\n");
  const auto parsed = parse({"--config", file.path.string(), "--shards", "4"});
  const auto& config = std::get<CommandLine>(parsed.result).config;
  CHECK(config.listen == "127.0.0.1:9000");
  CHECK(config.shards == 4);
  CHECK(config.max_text_bytes == 1000);
  CHECK(config.messages_per_second == 7.0);
}

TEST_CASE("bad config files are one-line errors naming the key, exit code 2") {
  struct Case {
    std::string text;
    std::string expect;
  };
  for (const auto& c : std::vector<Case>{
           {"[limits]\nmax_txt_bytes = 5\n", "unknown key 'limits.max_txt_bytes'"},
           {"[limits]\nmax_text_bytes = \"big\"\n", "limits.max_text_bytes: expected an integer"},
           {"[limits]\nmax_text_bytes = -1\n", "limits.max_text_bytes: out of range"},
           {"[limits]\nmax_text_bytes = 99999999999\n", "limits.max_text_bytes: out of range"},
           {"[limits]\nmessages_per_second = \"fast\"\n",
            "limits.messages_per_second: expected a number"},
           {"[server]\nlisten = \"nowhere\"\n", "listen: 'nowhere' is not HOST:PORT"},
           {"[server]\nlog_level = \"loud\"\n", "log_level"},
           {"[nonsense]\nx = 1\n", "unknown table or key 'nonsense'"},
           {"[server\nlisten = 1\n", ":1:"},
           {"[outbox]\noutbox_soft_bytes = 100000000\n", "outbox_soft_bytes"},
           {"[server]\nmotd = \"unterminated\n", ":2:"},
           {"[server]\nmotd = \"" + std::string(5000, 'm') + "\"\n", "motd: at most 4096 bytes"},
           {"[limits]\nmax_text_bytes = 4096\nmax_text_bytes = 4096\n", ":3:"},
           {std::string("\x00\xff\xfe binary \x01\x02", 12), "config"},
           {"[server]\nlisten = [1, 2]\n", "server.listen: expected a string"},
           {"server = 5\n", "'server' must be a table"},
           {"[cluster]\nengine = \"mongo\"\n", "engine: 'mongo' is not embedded or redis"},
           {"[cluster]\nengine = 1\n", "cluster.engine: expected a string"},
           {"[cluster]\nengine = \"redis\"\nredis = \"\"\n", "redis: '' is not HOST:PORT"},
           {"[cluster]\nengine = \"redis\"\nredis = \"localhost:65536\"\n",
            "redis: 'localhost:65536' is not HOST:PORT"},
           {"[cluster]\nengine = \"redis\"\nredis = \"127.0.0.1:6379" + std::string(300, '0') +
                "\"\n",
            "is not HOST:PORT"},
       }) {
    CAPTURE(c.text);
    TempFile file(c.text);
    const auto parsed = parse({"--config", file.path.string()});
    CHECK(exit_code(parsed) == 2);
    CHECK(parsed.err.find(c.expect) != std::string::npos);
    CHECK(std::count(parsed.err.begin(), parsed.err.end(), '\n') == 1);
    const auto checked = parse({"--check-config", file.path.string()});
    CHECK(exit_code(checked) == 2);
  }
}

TEST_CASE("bad flags are one-line errors, exit code 2") {
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"--no-such-flag"},
                                             {"--shards", "many"},
                                             {"--shards", "-1"},
                                             {"--shards", "1000"},
                                             {"--listen", "127.0.0.1:99999"},
                                             {"--config", "/does/not/exist.toml"},
                                             {"--max-text-bytes"},
                                             {"--outbox-soft-bytes", "999999999"},
                                             {"--motd", "\xff\xfe"},
                                             {"--name", std::string(300, 'n')},
                                             {"--messages-per-second", "-5"},
                                             {"--messages-per-second", "nan"}}) {
    CAPTURE(args.front());
    const auto parsed = parse(args);
    CHECK(exit_code(parsed) == 2);
    CHECK_FALSE(parsed.err.empty());
  }
}

TEST_CASE("--help, --check-config and --print-config") {
  const auto help = parse({"--help"});
  CHECK(exit_code(help) == 0);
  CHECK(help.out.find("--max-text-bytes") != std::string::npos);
  CHECK(help.out.find("4096") != std::string::npos);

  TempFile good("[limits]\nmax_text_bytes = 2000\n");
  const auto checked = parse({"--check-config", good.path.string()});
  CHECK(exit_code(checked) == 0);

  // --print-config output is itself a valid config that round-trips.
  ServerConfig config;
  config.motd = "say \"hi\"\nnicely";
  config.messages_per_second = 2.5;
  TempFile printed(to_toml(config));
  ServerConfig reread;
  CHECK_FALSE(load_config_file(printed.path.string(), reread).has_value());
  CHECK(reread.motd == config.motd);
  CHECK(reread.messages_per_second == 2.5);
  CHECK(to_toml(reread) == to_toml(config));
}

TEST_CASE(
    "chat-server exits 2 with one line for a bad log format, HTTP, web or TLS listener, or "
    "origin") {
  struct Case {
    std::vector<std::string> flags;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {{"--log-format", "xml"}, "log_format: 'xml' is not human or json"},
           {{"--http", "nowhere"}, "http: 'nowhere' is not HOST:PORT"},
           {{"--http", "127.0.0.1:99999"}, "http: '127.0.0.1:99999' is not HOST:PORT"},
           {{"--tls-listen", "127.0.0.1:0"}, "tls_listen: needs tls_cert and tls_key"},
           {{"--tls-listen", "127.0.0.1:0", "--tls-cert", "cert.pem"},
            "tls_listen: needs tls_cert and tls_key"},
           {{"--tls-cert", "cert.pem", "--tls-key", "key.pem"},
            "tls_cert, tls_key: set tls_listen too, or the TLS listener stays off"},
           {{"--engine", "Redis"}, "engine: 'Redis' is not embedded or redis"},
           {{"--engine", "redis", "--redis", "127.0.0.1"},
            "redis: '127.0.0.1' is not HOST:PORT or a comma-separated list of them"},
           {{"--engine", "redis", "--redis", "127.0.0.1:"},
            "redis: '127.0.0.1:' is not HOST:PORT or a comma-separated list of them"},
           {{"--engine", "redis", "--redis", "127.0.0.1:7000,"},
            "redis: '127.0.0.1:7000,' is not HOST:PORT or a comma-separated list of them"},
           {{"--engine", "redis", "--redis", "127.0.0.1:7000,127.0.0.1"},
            "redis: '127.0.0.1:7000,127.0.0.1' is not HOST:PORT or a comma-separated list of them"},
           {{"--redis-acknowledge", "both"}, "redis_acknowledge: 'both' is not master or replica"},
           {{"--redis-replica-timeout-ms", "0"}, "redis_replica_timeout_ms: at least 1"},
           {{"--web", "8080"}, "web: '8080' is not HOST:PORT"},
           {{"--web-tls-listen", "localhost"}, "web_tls_listen: 'localhost' is not HOST:PORT"},
           {{"--web-tls-listen", "127.0.0.1:0"}, "web_tls_listen: needs tls_cert and tls_key"},
           {{"--web-origins", "chat.example.org"},
            "web_origins: 'chat.example.org' is not http://HOST[:PORT] or https://HOST[:PORT]"},
           {{"--web-origins", "https://a.example, https://b.example/path"},
            "web_origins: 'https://b.example/path' is not http://HOST[:PORT] or "
            "https://HOST[:PORT]"},
           {{"--irc-listen", "6667"}, "irc_listen: '6667' is not HOST:PORT"},
           {{"--irc-tls-listen", "127.0.0.1:0"}, "irc_tls_listen: needs tls_cert and tls_key"},
           {{"--heartbeat-ms", "5"}, "heartbeat_ms: at least 10"},
           {{"--heartbeat-ms", "1000", "--node-expiry-ms", "1999"},
            "node_expiry_ms: at least twice heartbeat_ms"},
       }) {
    CAPTURE(c.flags.front());
    // Refused before anything binds, the default web listener included.
    std::vector<std::string> args{CHAT_SERVER_BINARY, "--listen", "127.0.0.1:0", "--storage",
                                  "temporary"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    chat::test::ChildProcess server(std::move(args));
    CHECK(server.wait_exit() == 2);
    CHECK(server.err() == "chat-server: " + c.error + "\n");
    CHECK(server.out().empty());
  }
}
