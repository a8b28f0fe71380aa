#include "worker.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include <cstdio>

#include "load_client.hpp"
#include "logging.hpp"

namespace chat::loadtest {

Worker::Worker(SharedState& shared, std::uint32_t index)
    : shared_(shared), index_(index), read_buffer_(256 * 1024) {}

Worker::~Worker() { join(); }

void Worker::add_client(const ClientSpec& spec) {
  clients_.push_back(std::make_unique<LoadClient>(*this, spec));
}

void Worker::start() {
  for (auto& client : clients_) {
    asio::co_spawn(io_, client->run(), [](std::exception_ptr error) {
      if (error)
        std::fprintf(stderr, "chat-loadtest: client failed: %s\n",
                     describe_exception(error).c_str());
    });
  }
  thread_ = std::thread([this] { io_.run(); });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::close_all() {
  for (auto& client : clients_) client->close();
}

void Worker::wake_all() {
  for (auto& client : clients_) client->notify_script();
}

void Worker::flush_interval() {
  std::lock_guard lock(interval_mutex_);
  interval_shared_.merge(interval_local_);
  interval_local_.clear();
}

LatencyHistogram Worker::take_interval() {
  std::lock_guard lock(interval_mutex_);
  LatencyHistogram taken = interval_shared_;
  interval_shared_.clear();
  return taken;
}

WorkerTotals Worker::totals(const std::vector<std::uint64_t>& final_seq) const {
  WorkerTotals totals = counters_;
  for (const auto& client : clients_) {
    if (!client->joined_once()) continue;
    const auto& trackers = client->trackers();
    for (std::size_t slot = 0; slot < trackers.size(); ++slot) {
      const std::uint64_t room_final = final_seq[client->spec().rooms[slot]];
      totals.duplicates += trackers[slot].duplicates();
      totals.out_of_order += trackers[slot].out_of_order();
      totals.lost += trackers[slot].lost(room_final);
      totals.announced_gaps += trackers[slot].announced_gaps();
    }
  }
  return totals;
}

}  // namespace chat::loadtest
