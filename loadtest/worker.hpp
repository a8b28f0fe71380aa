#pragma once
// One load-test thread: an io_context, the clients it runs as coroutines, one large read buffer
// they all share, and its own counters and histograms (touched by this thread only).

#include <asio/io_context.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "chat.pb.h"
#include "latency_histogram.hpp"
#include "plan.hpp"
#include "shared_state.hpp"

namespace chat::loadtest {

class LoadClient;

struct WorkerTotals {
  std::uint64_t delivered = 0;
  std::uint64_t duplicates = 0;
  std::uint64_t out_of_order = 0;
  std::uint64_t lost = 0;
  std::uint64_t announced_gaps = 0;
  std::uint64_t connect_failures = 0;
  std::array<std::uint64_t, v1::Error::Code_ARRAYSIZE> errors{};
  std::array<std::uint64_t, v1::Disconnect::Reason_ARRAYSIZE> disconnects{};
  LatencyHistogram latency;
  LatencyHistogram ack_latency;   // send to Ack (stored durably, with a durable engine)
  LatencyHistogram connect_time;  // connect + handshake + joins, per client
};

class Worker {
 public:
  Worker(SharedState& shared, std::uint32_t index);
  ~Worker();

  void add_client(const ClientSpec& spec);
  void start();
  void join();
  asio::io_context& io() { return io_; }

  // Thread-safe: the latency histogram of deliveries since the last call.
  LatencyHistogram take_interval();
  // Run on this worker's thread (post): close every connection, ending the clients.
  void close_all();
  // Run on this worker's thread (post): wake every client to look at the phase again.
  void wake_all();
  // After join(): the whole run's figures, with losses counted against each room's final sequence.
  WorkerTotals totals(const std::vector<std::uint64_t>& final_seq) const;

  // For LoadClient, on this thread.
  SharedState& shared() { return shared_; }
  std::vector<char>& read_buffer() { return read_buffer_; }
  WorkerTotals& counters() { return counters_; }
  void record_latency(std::int64_t ns) {
    counters_.latency.record(ns);
    interval_local_.record(ns);
  }
  void flush_interval();  // moves this thread's recent latencies where take_interval() finds them
  v1::ServerFrame& scratch_frame() { return scratch_frame_; }
  v1::ClientFrame& scratch_request() { return scratch_request_; }

 private:
  SharedState& shared_;
  std::uint32_t index_;
  asio::io_context io_{1};
  std::thread thread_;
  std::vector<std::unique_ptr<LoadClient>> clients_;
  std::vector<char> read_buffer_;
  WorkerTotals counters_;
  LatencyHistogram interval_local_;
  std::mutex interval_mutex_;
  LatencyHistogram interval_shared_;
  v1::ServerFrame scratch_frame_;
  v1::ClientFrame scratch_request_;
};

}  // namespace chat::loadtest
