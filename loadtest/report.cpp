#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

namespace chat::loadtest {
namespace {

double ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

double deliveries_per_second(const RunResult& r) {
  const double seconds = r.run_seconds + r.drain_seconds;
  return seconds > 0 ? static_cast<double>(r.totals.delivered) / seconds : 0;
}

double server_cpu_seconds(const RunResult& r) {
  return r.server_after && r.server_connected
             ? r.server_after->cpu_seconds - r.server_connected->cpu_seconds
             : 0;
}

// The server's CPU time per delivery, in microseconds (0 without --server-pid or deliveries).
double server_cpu_us_per_delivery(const RunResult& r) {
  return r.totals.delivered > 0
             ? server_cpu_seconds(r) * 1e6 / static_cast<double>(r.totals.delivered)
             : 0;
}

std::string named_counts(const auto& counts, auto name_of) {
  std::string out;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {}", name_of(static_cast<int>(i)), counts[i]);
  }
  return out.empty() ? "none" : out;
}

std::string error_name(int code) {
  return v1::Error::Code_Name(static_cast<v1::Error::Code>(code));
}
std::string reason_name(int reason) {
  return v1::Disconnect::Reason_Name(static_cast<v1::Disconnect::Reason>(reason));
}

}  // namespace

void print_summary(const RunResult& r, std::ostream& out) {
  const auto& t = r.totals;
  const auto& l = t.latency;
  out << fmt::format("scenario        {}  ({} clients, {} threads, {})\n",
                     scenario_name(r.options.scenario), r.options.clients, r.options.threads,
                     r.options.transport == Transport::websocket ? "WebSocket"
                     : r.options.transport == Transport::irc     ? "IRC"
                                                                 : "TCP");
  out << fmt::format(
      "connected       {} of {} in {:.2f} s (connect+join p50 {:.1f} ms, p99 {:.1f} ms)\n",
      r.clients_connected, r.options.clients, r.connect_all_seconds,
      ms(t.connect_time.quantile(0.5)), ms(t.connect_time.quantile(0.99)));
  out << fmt::format(
      "sent            {} messages, {} acknowledged, in {:.2f} s (+{:.2f} s drain)\n", r.sent,
      r.acked, r.run_seconds, r.drain_seconds);
  out << fmt::format("delivered       {} ({:.0f}/s), expected {}\n", t.delivered,
                     deliveries_per_second(r), r.expected);
  out << fmt::format(
      "latency ms      p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  p99.9 {:.3f}  max {:.3f}\n",
      ms(l.quantile(0.5)), ms(l.quantile(0.9)), ms(l.quantile(0.99)), ms(l.quantile(0.999)),
      ms(l.max()));
  const auto& a = t.ack_latency;
  out << fmt::format(
      "ack latency ms  p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  p99.9 {:.3f}  max {:.3f}\n",
      ms(a.quantile(0.5)), ms(a.quantile(0.9)), ms(a.quantile(0.99)), ms(a.quantile(0.999)),
      ms(a.max()));
  out << fmt::format(
      "lost            {}   duplicates {}   out of order {}   skipped by server (Gap) {}\n", t.lost,
      t.duplicates, t.out_of_order, t.announced_gaps);
  out << fmt::format("errors          {}\n", named_counts(t.errors, error_name));
  out << fmt::format("disconnects     {}\n", named_counts(t.disconnects, reason_name));
  if (r.options.scenario == Scenario::churn)
    out << fmt::format("reconnects      {}\n", r.reconnects);
  const double wall = r.connect_all_seconds + r.run_seconds + r.drain_seconds;
  out << fmt::format("harness cpu     {:.2f} s ({:.0f}% of one core)\n", r.harness_cpu_seconds,
                     wall > 0 ? 100 * r.harness_cpu_seconds / wall : 0);
  if (r.server_before && r.server_connected && r.server_after) {
    const double clients = std::max<double>(1, static_cast<double>(r.clients_connected));
    const double per_client =
        (r.server_connected->rss_bytes - r.server_before->rss_bytes) / clients;
    // After the run: for idle, connections that have been idle for --duration (the outboxes of
    // the join bursts drained), which is what an idle connection costs.
    const double per_client_after =
        (r.server_after->rss_bytes - r.server_before->rss_bytes) / clients;
    out << fmt::format(
        "server          rss {:.1f} MiB -> {:.1f} MiB connected ({:.0f} bytes per connection), "
        "{:.1f} MiB after the run ({:.0f} bytes per connection), cpu {:.2f} s during run "
        "({:.2f} us per delivery)\n",
        r.server_before->rss_bytes / 1048576, r.server_connected->rss_bytes / 1048576, per_client,
        r.server_after->rss_bytes / 1048576, per_client_after, server_cpu_seconds(r),
        server_cpu_us_per_delivery(r));
  }
  out << (r.clean() ? "result          PASS: nothing lost, duplicated or refused\n"
                    : "result          FAIL\n");
}

std::string to_json(const RunResult& r) {
  const auto& t = r.totals;
  const auto& l = t.latency;
  std::string errors;
  for (std::size_t i = 0; i < t.errors.size(); ++i) {
    if (t.errors[i])
      errors += fmt::format("{}\"{}\": {}", errors.empty() ? "" : ", ",
                            error_name(static_cast<int>(i)), t.errors[i]);
  }
  std::string disconnects;
  for (std::size_t i = 0; i < t.disconnects.size(); ++i) {
    if (t.disconnects[i]) {
      disconnects += fmt::format("{}\"{}\": {}", disconnects.empty() ? "" : ", ",
                                 reason_name(static_cast<int>(i)), t.disconnects[i]);
    }
  }
  std::string timeline;
  for (const auto& p : r.timeline) {
    timeline += fmt::format(
        "{}\n    {{\"t\": {:.3f}, \"deliveries_per_second\": {:.1f}, \"sends_per_second\": {:.1f}, "
        "\"p50_ms\": {:.4f}, \"p99_ms\": {:.4f}}}",
        timeline.empty() ? "" : ",", p.seconds, p.deliveries_per_second, p.sends_per_second,
        p.p50_ms, p.p99_ms);
  }
  std::string server = "null";
  if (r.server_before && r.server_connected && r.server_after) {
    server = fmt::format(
        "{{\"rss_before_bytes\": {:.0f}, \"rss_connected_bytes\": {:.0f}, \"rss_after_bytes\": "
        "{:.0f}, \"cpu_seconds_during_run\": {:.3f}, \"cpu_us_per_delivery\": {:.3f}}}",
        r.server_before->rss_bytes, r.server_connected->rss_bytes, r.server_after->rss_bytes,
        server_cpu_seconds(r), server_cpu_us_per_delivery(r));
  }
  return fmt::format(
      "{{\n  \"scenario\": \"{}\",\n  \"clients\": {},\n  \"threads\": {},\n  \"payload_bytes\": "
      "{},\n  \"rate_per_sender\": {},\n"
      "  \"clients_connected\": {},\n  \"connect_all_seconds\": {:.3f},\n  \"connect_join_ms\": "
      "{{\"p50\": {:.3f}, \"p99\": {:.3f}}},\n"
      "  \"run_seconds\": {:.3f},\n  \"drain_seconds\": {:.3f},\n  \"sent\": {},\n  \"acked\": "
      "{},\n  \"delivered\": {},\n"
      "  \"expected\": {},\n  \"deliveries_per_second\": {:.1f},\n"
      "  \"latency_ms\": {{\"p50\": {:.4f}, \"p90\": {:.4f}, \"p99\": {:.4f}, \"p99_9\": {:.4f}, "
      "\"max\": {:.4f}}},\n"
      "  \"ack_latency_ms\": {{\"p50\": {:.4f}, \"p99\": {:.4f}, \"max\": {:.4f}}},\n"
      "  \"lost\": {},\n  \"duplicates\": {},\n  \"out_of_order\": {},\n  \"skipped_by_server\": "
      "{},\n  \"reconnects\": {},\n"
      "  \"errors\": {{{}}},\n  \"disconnects\": {{{}}},\n  \"harness_cpu_seconds\": {:.3f},\n  "
      "\"server\": {},\n"
      "  \"pass\": {},\n  \"timeline\": [{}\n  ]\n}}\n",
      scenario_name(r.options.scenario), r.options.clients, r.options.threads, r.options.payload,
      r.options.rate, r.clients_connected, r.connect_all_seconds, ms(t.connect_time.quantile(0.5)),
      ms(t.connect_time.quantile(0.99)), r.run_seconds, r.drain_seconds, r.sent, r.acked,
      t.delivered, r.expected, deliveries_per_second(r), ms(l.quantile(0.5)), ms(l.quantile(0.9)),
      ms(l.quantile(0.99)), ms(l.quantile(0.999)), ms(l.max()), ms(t.ack_latency.quantile(0.5)),
      ms(t.ack_latency.quantile(0.99)), ms(t.ack_latency.max()), t.lost, t.duplicates,
      t.out_of_order, t.announced_gaps, r.reconnects, errors, disconnects, r.harness_cpu_seconds,
      server, r.clean() ? "true" : "false", timeline);
}

namespace {

// A point of a chart: deliveries/s (left axis) and latency (right axis) against x.
struct ChartPoint {
  double x = 0;
  double deliveries_per_second = 0;
  double p50_ms = 0;
  double p99_ms = 0;
};

// x_unit follows each x tick's value ("s", "msg/s"); bound_ms > 0 draws that latency as a line.
std::string line_chart(const std::string& title, const char* x_unit,
                       const std::vector<ChartPoint>& points, double bound_ms = 0) {
  constexpr double width = 800;
  constexpr double height = 400;
  constexpr double left = 70;
  constexpr double right = 70;
  constexpr double top = 40;
  constexpr double bottom = 50;
  const double plot_w = width - left - right;
  const double plot_h = height - top - bottom;
  double max_x = 1;
  double max_rate = 1;
  double max_ms = std::max(0.001, bound_ms * 1.1);
  for (const auto& p : points) {
    max_x = std::max(max_x, p.x);
    max_rate = std::max(max_rate, p.deliveries_per_second);
    max_ms = std::max(max_ms, p.p99_ms);
  }
  auto x = [&](double v) { return left + v / max_x * plot_w; };
  auto y_rate = [&](double v) { return top + plot_h - v / max_rate * plot_h; };
  auto y_ms = [&](double v) { return top + plot_h - v / max_ms * plot_h; };
  auto polyline = [&](auto value, auto y, const char* colour) {
    std::string coordinates;
    for (const auto& p : points) coordinates += fmt::format("{:.1f},{:.1f} ", x(p.x), y(value(p)));
    return fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n",
                       colour, coordinates);
  };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"24\" font-size=\"15\">{3}</text>\n"
      "<rect x=\"{2}\" y=\"{4}\" width=\"{5}\" height=\"{6}\" fill=\"none\" stroke=\"#999\"/>\n",
      width, height, left, title, top, plot_w, plot_h);
  for (int i = 0; i <= 4; ++i) {
    const double f = i / 4.0;
    const double yy = top + plot_h - f * plot_h;
    svg += fmt::format(
        "<line x1=\"{:.0f}\" x2=\"{:.0f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#eee\"/>\n", left,
        left + plot_w, yy, yy);
    svg += fmt::format(
        "<text x=\"{:.0f}\" y=\"{:.1f}\" text-anchor=\"end\" fill=\"#1f77b4\">{:.3g}</text>\n",
        left - 6, yy + 4, f * max_rate);
    svg += fmt::format("<text x=\"{:.0f}\" y=\"{:.1f}\" fill=\"#d62728\">{:.3g} ms</text>\n",
                       left + plot_w + 6, yy + 4, f * max_ms);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.0f}\" text-anchor=\"middle\">{:.3g} {}</text>\n",
                       left + f * plot_w, top + plot_h + 18, f * max_x, x_unit);
  }
  if (bound_ms > 0) {
    svg += fmt::format(
        "<line x1=\"{0:.0f}\" x2=\"{1:.0f}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#d62728\" "
        "stroke-dasharray=\"6 4\"/>\n",
        left, left + plot_w, y_ms(bound_ms));
  }
  svg += polyline([](const ChartPoint& p) { return p.deliveries_per_second; }, y_rate, "#1f77b4");
  svg += polyline([](const ChartPoint& p) { return p.p50_ms; }, y_ms, "#ff7f0e");
  svg += polyline([](const ChartPoint& p) { return p.p99_ms; }, y_ms, "#d62728");
  svg += fmt::format(
      "<text x=\"{0}\" y=\"{1}\" fill=\"#1f77b4\">deliveries/s</text>"
      "<text x=\"{2}\" y=\"{1}\" fill=\"#ff7f0e\">p50 latency</text>"
      "<text x=\"{3}\" y=\"{1}\" fill=\"#d62728\">p99 latency{4}</text>\n</svg>\n",
      left, height - 10, left + 150, left + 280, bound_ms > 0 ? " (dashed: the bound)" : "");
  return svg;
}

}  // namespace

std::string to_svg(const RunResult& r) {
  std::vector<ChartPoint> points;
  for (const auto& p : r.timeline)
    points.push_back({.x = p.seconds,
                      .deliveries_per_second = p.deliveries_per_second,
                      .p50_ms = p.p50_ms,
                      .p99_ms = p.p99_ms});
  return line_chart(fmt::format("chat-loadtest {}: {} clients, deliveries/s and latency over time",
                                scenario_name(r.options.scenario), r.options.clients),
                    "s", points);
}

namespace {

// The options the search ran with (every step's, but for the rate and seed).
Options options_of(const RateSearch& search) {
  return search.steps.empty() ? Options{} : search.steps.front().result.options;
}

}  // namespace

void print_summary(const RateSearch& search, std::ostream& out) {
  out << fmt::format("step search     p99 bound {:.1f} ms\n", search.p99_bound_ms);
  out << "  rate/sender    offered/s       sent/s   deliveries/s   p50 ms   p99 ms  server "
         "us/delivery  result\n";
  for (const RateStep& step : search.steps) {
    const auto& latency = step.result.totals.latency;
    out << fmt::format(
        "  {:>11.3g} {:>12.0f} {:>12.0f} {:>14.0f} {:>8.2f} {:>8.2f} {:>19.2f}  {}\n",
        step.rate_per_sender, step.offered_per_second, step.sent_per_second,
        deliveries_per_second(step.result), ms(latency.quantile(0.5)), step.p99_ms(),
        server_cpu_us_per_delivery(step.result),
        step.within(search.p99_bound_ms)      ? "within"
        : !step.result.clean()                ? "FAIL (not clean)"
        : step.p99_ms() > search.p99_bound_ms ? "over the bound"
                                              : "could not send at that rate");
  }
  if (const auto best = search.highest_within()) {
    const RateStep& step = search.steps[*best];
    out << fmt::format(
        "result          highest rate within p99 {:.1f} ms: {:.3g} messages/s per sender, {:.0f} "
        "messages/s, {:.0f} deliveries/s{}\n",
        search.p99_bound_ms, step.rate_per_sender, step.sent_per_second,
        deliveries_per_second(step.result),
        *best + 1 == search.steps.size() ? " (the last step: raise --max-steps to go higher)" : "");
  } else {
    out << "result          no step was within the bound (start lower with --rate)\n";
  }
}

std::string to_json(const RateSearch& search) {
  std::string steps;
  for (const RateStep& step : search.steps) {
    const auto& latency = step.result.totals.latency;
    steps += fmt::format(
        "{}\n    {{\"rate_per_sender\": {:.6g}, \"offered_per_second\": {:.1f}, "
        "\"sent_per_second\": {:.1f}, \"deliveries_per_second\": {:.1f}, \"p50_ms\": {:.4f}, "
        "\"p99_ms\": {:.4f}, \"server_cpu_us_per_delivery\": {:.3f}, \"clean\": {}, "
        "\"within_bound\": {}}}",
        steps.empty() ? "" : ",", step.rate_per_sender, step.offered_per_second,
        step.sent_per_second, deliveries_per_second(step.result), ms(latency.quantile(0.5)),
        step.p99_ms(), server_cpu_us_per_delivery(step.result),
        step.result.clean() ? "true" : "false",
        step.within(search.p99_bound_ms) ? "true" : "false");
  }
  std::string highest = "null";
  if (const auto best = search.highest_within()) {
    const RateStep& step = search.steps[*best];
    highest = fmt::format(
        "{{\"rate_per_sender\": {:.6g}, \"messages_per_second\": {:.1f}, "
        "\"deliveries_per_second\": {:.1f}, \"p99_ms\": {:.4f}}}",
        step.rate_per_sender, step.sent_per_second, deliveries_per_second(step.result),
        step.p99_ms());
  }
  const Options options = options_of(search);
  return fmt::format(
      "{{\n  \"scenario\": \"{}\",\n  \"clients\": {},\n  \"rooms\": {},\n  "
      "\"p99_bound_ms\": {:.3f},\n  \"highest_within_bound\": {},\n  \"steps\": [{}\n  ]\n}}\n",
      scenario_name(options.scenario), options.clients, options.rooms, search.p99_bound_ms, highest,
      steps);
}

std::string to_svg(const RateSearch& search) {
  std::vector<ChartPoint> points;
  for (const RateStep& step : search.steps) {
    const auto& latency = step.result.totals.latency;
    points.push_back({.x = step.sent_per_second,
                      .deliveries_per_second = deliveries_per_second(step.result),
                      .p50_ms = ms(latency.quantile(0.5)),
                      .p99_ms = step.p99_ms()});
  }
  const Options options = options_of(search);
  return line_chart(
      fmt::format("chat-loadtest {} step search: {} clients, deliveries/s and latency by rate",
                  scenario_name(options.scenario), options.clients),
      "msg/s", points, search.p99_bound_ms);
}

}  // namespace chat::loadtest
