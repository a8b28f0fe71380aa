// Graceful shutdown, in process and as a real chat-server process receiving SIGTERM.
#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <string>

#include "test_client.hpp"
#include "test_server.hpp"

using namespace chat;
using chat::test::TestClient;

extern char** environ;

TEST_CASE("stop() tells every client SERVER_SHUTDOWN and flushes what was queued") {
  auto server = std::make_unique<test::TestServer>();
  auto alice = TestClient::connect_as(server->port(), "alice");
  auto bob = TestClient::connect_as(server->port(), "bob");
  alice.join("#last");
  bob.join("#last");
  const auto ack = alice.say("#last", "last words");
  auto stopping = std::async(std::launch::async, [&] { server->server().stop(); });
  for (TestClient* client : {&alice, &bob}) {
    std::optional<v1::Disconnect> disconnect;
    bool saw_message = false;
    while (auto frame = client->next()) {
      if (frame->has_room_message() && frame->room_message().seq() == ack.ack().seq())
        saw_message = true;
      if (frame->has_disconnect()) disconnect = frame->disconnect();
    }
    CHECK(client->closed());
    REQUIRE(disconnect);
    CHECK(disconnect->reason() == v1::Disconnect::SERVER_SHUTDOWN);
    if (client == &bob) CHECK(saw_message);
  }
  CHECK(stopping.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
}

TEST_CASE("chat-server exits 0 on SIGTERM after telling its clients") {
  int err_pipe[2];
  REQUIRE(::pipe(err_pipe) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addclose(&actions, err_pipe[0]);
  const std::string data_dir = "chat-server-test-data-" + std::to_string(::getpid());
  std::vector<std::string> args{CHAT_SERVER_BINARY, "--listen", "127.0.0.1:0", "--shards", "2",
                                "--data-dir",       data_dir};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned =
      ::posix_spawn(&pid, CHAT_SERVER_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);
  ::close(err_pipe[1]);

  // The server logs the port it bound; read stderr until that line.
  std::string log;
  const std::string listening = "listening on 127.0.0.1:";
  char buffer[512];
  while (log.find(listening) == std::string::npos ||
         log.find(' ', log.find(listening) + listening.size()) == std::string::npos) {
    const ssize_t n = ::read(err_pipe[0], buffer, sizeof buffer);
    if (n <= 0) FAIL("chat-server ended before listening: " << log);
    log.append(buffer, static_cast<std::size_t>(n));
  }
  const auto port =
      static_cast<std::uint16_t>(std::stoi(log.substr(log.find(listening) + listening.size())));
  auto client = TestClient::connect_as(port, "watcher");
  REQUIRE(::kill(pid, SIGTERM) == 0);
  const auto disconnect = client.wait_closed();
  REQUIRE(disconnect);
  CHECK(disconnect->reason() == v1::Disconnect::SERVER_SHUTDOWN);
  { auto gone = std::move(client); }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  ::close(err_pipe[0]);
  std::error_code ignored;
  std::filesystem::remove_all(data_dir, ignored);
}
