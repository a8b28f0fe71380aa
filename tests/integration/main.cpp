#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <signal.h>

#include <cstdlib>
#include <string_view>

#include "logging.hpp"

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  const char* level = std::getenv("CHAT_TEST_LOG");
  chat::setup_logging(*chat::parse_log_level(level ? level : "warn"));
  // --chat-shards=N picks the server's shard count (doctest ignores options it does not know).
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.starts_with("--chat-shards=")) ::setenv("CHAT_TEST_SHARDS", arg.substr(14).data(), 1);
  }
  doctest::Context context(argc, argv);
  return context.run();
}
