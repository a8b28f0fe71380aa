#pragma once
// The operator's HTTP endpoint on a thread of its own: /metrics (Prometheus), /healthz (the
// process is up) and /readyz (accepting clients, and the store can write).

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace asio {
class io_context;
}

namespace chat::server {

struct ServerContext;
class HttpEndpoint;

class StatusEndpoint {
 public:
  // Binds at once; throws std::runtime_error naming the address when it cannot.
  StatusEndpoint(ServerContext& context, const std::string& address);
  ~StatusEndpoint();
  StatusEndpoint(const StatusEndpoint&) = delete;
  StatusEndpoint& operator=(const StatusEndpoint&) = delete;

  std::uint16_t port() const;
  std::string address() const;
  // Stops answering and waits for the thread to end. Idempotent.
  void close();

 private:
  ServerContext& context_;
  std::string host_;
  std::unique_ptr<asio::io_context> io_;
  std::unique_ptr<HttpEndpoint> endpoint_;
  std::thread thread_;
};

}  // namespace chat::server
