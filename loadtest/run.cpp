#include "run.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <asio/post.hpp>
#include <future>
#include <memory>
#include <ostream>
#include <thread>

#include "plan.hpp"
#include "shared_state.hpp"

namespace chat::loadtest {
namespace {

using clock = std::chrono::steady_clock;

double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

class Progress {
 public:
  Progress(std::ostream& out, bool enabled)
      : out_(out), enabled_(enabled), terminal_(::isatty(STDOUT_FILENO) != 0) {}
  void line(const std::string& text) {
    if (!enabled_) return;
    if (terminal_) {
      out_ << "\r\x1b[2K" << text << std::flush;
    } else {
      out_ << text << "\n" << std::flush;
    }
  }
  void done() {
    if (enabled_ && terminal_) out_ << "\n";
  }

 private:
  std::ostream& out_;
  bool enabled_;
  bool terminal_;
};

}  // namespace

bool RunResult::clean() const {
  std::uint64_t errors = 0;
  for (auto n : totals.errors) errors += n;
  std::uint64_t disconnects = 0;
  for (auto n : totals.disconnects) disconnects += n;
  return totals.lost == 0 && totals.duplicates == 0 && errors == 0 && disconnects == 0 &&
         totals.connect_failures == 0 && clients_connected == options.clients;
}

RunResult run_load(const Options& options, std::ostream& out) {
  RunResult result;
  result.options = options;
  const Plan plan = make_plan(options);
  SharedState shared(options, plan);
  Progress progress(out, options.progress);
  const ProcessSample self_before = sample_self();
  if (options.server_pid > 0) result.server_before = sample_process(options.server_pid);

  std::vector<std::unique_ptr<Worker>> workers;
  for (std::uint32_t t = 0; t < options.threads; ++t)
    workers.push_back(std::make_unique<Worker>(shared, t));
  for (const ClientSpec& spec : plan.clients)
    workers[spec.index % workers.size()]->add_client(spec);
  shared.started_at = clock::now();
  for (auto& worker : workers) worker->start();

  // Connect everyone.
  const auto connect_deadline =
      clock::now() + std::chrono::seconds(60) +
      std::chrono::seconds(
          options.ramp_up > 0 ? static_cast<long>(options.clients / options.ramp_up) : 0);
  while (shared.ready + shared.failed < options.clients && clock::now() < connect_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    static auto last = clock::now();
    if (clock::now() - last >= std::chrono::seconds(1)) {
      last = clock::now();
      progress.line(fmt::format("connecting: {} of {} joined, {} failed", shared.ready.load(),
                                options.clients, shared.failed.load()));
    }
  }
  result.clients_connected = shared.ready.load();
  result.connect_all_seconds = seconds_since(shared.started_at);
  if (options.server_pid > 0) result.server_connected = sample_process(options.server_pid);

  // Run.
  const auto run_start = clock::now();
  const auto run_until = run_start + options.duration;
  shared.run_until_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(run_until.time_since_epoch()).count();
  shared.phase.store(Phase::running, std::memory_order_release);
  for (auto& worker : workers) {
    Worker* w = worker.get();
    asio::post(w->io(), [w] { w->wake_all(); });
  }
  std::uint64_t last_accounted = shared.accounted.load();
  std::uint64_t last_sent = shared.sent.load();
  auto last_tick = run_start;
  auto tick = [&](const char* phase) {
    // Each worker hands over its latencies of the last second on its own thread; wait for that
    // (briefly: a worker busy for longer shows up in the next tick).
    std::vector<std::future<void>> flushed;
    for (auto& worker : workers) {
      Worker* w = worker.get();
      auto done = std::make_shared<std::promise<void>>();
      flushed.push_back(done->get_future());
      asio::post(w->io(), [w, done] {
        w->flush_interval();
        done->set_value();
      });
    }
    for (auto& f : flushed) f.wait_for(std::chrono::milliseconds(200));
    const auto now = clock::now();
    const double dt = std::chrono::duration<double>(now - last_tick).count();
    last_tick = now;
    LatencyHistogram interval;
    for (auto& worker : workers) interval.merge(worker->take_interval());
    const std::uint64_t accounted = shared.accounted.load();
    const std::uint64_t sent = shared.sent.load();
    TimelinePoint point;
    point.seconds = std::chrono::duration<double>(now - run_start).count();
    point.deliveries_per_second = static_cast<double>(accounted - last_accounted) / dt;
    point.sends_per_second = static_cast<double>(sent - last_sent) / dt;
    point.p50_ms = static_cast<double>(interval.quantile(0.5)) / 1e6;
    point.p99_ms = static_cast<double>(interval.quantile(0.99)) / 1e6;
    last_accounted = accounted;
    last_sent = sent;
    result.timeline.push_back(point);
    progress.line(fmt::format(
        "{} {:5.1f}s  clients {}  sent/s {:.0f}  delivered/s {:.0f}  p99 {:.2f} ms  errors {}",
        phase, point.seconds, shared.ready.load(), point.sends_per_second,
        point.deliveries_per_second, point.p99_ms, shared.errors.load()));
  };
  while (clock::now() < run_until) {
    std::this_thread::sleep_until(std::min(run_until, last_tick + std::chrono::seconds(1)));
    if (clock::now() - last_tick >= std::chrono::milliseconds(990)) tick("running ");
  }
  result.run_seconds = seconds_since(run_start);

  // Drain: wait until every acknowledged message reached every member, or the deadline.
  shared.phase.store(Phase::draining, std::memory_order_release);
  const auto drain_start = clock::now();
  const auto drain_until = drain_start + options.drain;
  while (clock::now() < drain_until) {
    if (shared.in_flight.load() == 0 && shared.accounted.load() >= shared.expected_deliveries())
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (clock::now() - last_tick >= std::chrono::seconds(1)) tick("draining");
  }
  result.drain_seconds = seconds_since(drain_start);
  progress.done();

  shared.phase.store(Phase::stopping, std::memory_order_release);
  for (auto& worker : workers) {
    Worker* w = worker.get();
    asio::post(w->io(), [w] { w->close_all(); });
  }
  for (auto& worker : workers) worker->join();
  if (options.server_pid > 0) result.server_after = sample_process(options.server_pid);

  std::vector<std::uint64_t> final_seq;
  for (std::size_t room = 0; room < shared.max_acked.size(); ++room)
    final_seq.push_back(shared.final_seq(room));
  for (auto& worker : workers) {
    const WorkerTotals part = worker->totals(final_seq);
    auto& t = result.totals;
    t.delivered += part.delivered;
    t.duplicates += part.duplicates;
    t.out_of_order += part.out_of_order;
    t.lost += part.lost;
    t.announced_gaps += part.announced_gaps;
    t.connect_failures += part.connect_failures;
    for (std::size_t i = 0; i < t.errors.size(); ++i) t.errors[i] += part.errors[i];
    for (std::size_t i = 0; i < t.disconnects.size(); ++i) t.disconnects[i] += part.disconnects[i];
    t.latency.merge(part.latency);
    t.ack_latency.merge(part.ack_latency);
    t.connect_time.merge(part.connect_time);
  }
  result.sent = shared.sent.load();
  result.acked = shared.acked.load();
  result.expected = shared.expected_deliveries();
  result.reconnects = shared.reconnects.load();
  result.harness_cpu_seconds = sample_self().cpu_seconds - self_before.cpu_seconds;
  return result;
}

}  // namespace chat::loadtest
