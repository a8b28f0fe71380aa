// The metrics building blocks and the HTTP request parser, without sockets.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>

#include "http_request.hpp"
#include "metrics/latency_histogram.hpp"
#include "metrics/prometheus_text.hpp"

using namespace chat::server;
using namespace std::chrono_literals;

TEST_CASE("a histogram counts an observation equal to a bound in that bound's bucket") {
  LatencyHistogram histogram({0.001, 0.01, 0.1});
  for (const std::chrono::nanoseconds latency :
       {0ns, -5ns, 1000000ns, 1000001ns, 10000000ns, 100000000ns, 100000001ns, 5000000000ns})
    histogram.observe(latency);
  const auto snapshot = histogram.snapshot();
  CHECK(snapshot.bounds == std::vector<double>{0.001, 0.01, 0.1});
  CHECK(snapshot.cumulative == std::vector<std::uint64_t>{3, 5, 6});
  CHECK(snapshot.count == 8);
  CHECK(snapshot.sum == doctest::Approx(5.212000002).epsilon(1e-12));
}

TEST_CASE("every default bound, observed exactly, lands in its own bucket") {
  const auto bounds = LatencyHistogram::default_latency_buckets();
  REQUIRE(bounds.size() == 16);
  LatencyHistogram histogram;
  for (const double bound : bounds)
    histogram.observe(std::chrono::nanoseconds(std::llround(bound * 1e9)));
  const auto snapshot = histogram.snapshot();
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    CAPTURE(bounds[i]);
    CHECK(snapshot.cumulative[i] == i + 1);
  }
  CHECK(snapshot.count == bounds.size());
}

TEST_CASE("a histogram refuses bounds that are not finite and strictly ascending") {
  CHECK_THROWS_AS(LatencyHistogram({0.1, 0.1}), std::invalid_argument);
  CHECK_THROWS_AS(LatencyHistogram({0.2, 0.1}), std::invalid_argument);
  CHECK_THROWS_AS(LatencyHistogram({0.1, std::numeric_limits<double>::infinity()}),
                  std::invalid_argument);
  CHECK_THROWS_AS(LatencyHistogram({std::nan("")}), std::invalid_argument);
  LatencyHistogram only_infinity(std::vector<double>{});
  only_infinity.observe(1s);
  CHECK(only_infinity.snapshot().count == 1);
  CHECK(only_infinity.snapshot().cumulative.empty());
}

TEST_CASE("observations from two threads are all counted") {
  LatencyHistogram histogram({0.001, 0.01});
  constexpr int per_thread = 100'000;
  auto observe_many = [&histogram] {
    for (int i = 0; i < per_thread; ++i) histogram.observe(i % 2 == 0 ? 500us : 5ms);
  };
  std::thread first(observe_many);
  std::thread second(observe_many);
  first.join();
  second.join();
  const auto snapshot = histogram.snapshot();
  CHECK(snapshot.cumulative == std::vector<std::uint64_t>{per_thread, 2 * per_thread});
  CHECK(snapshot.count == 2 * per_thread);
  CHECK(snapshot.sum == doctest::Approx(per_thread * (0.0005 + 0.005)));
}

TEST_CASE("the text format of a small scrape") {
  LatencyHistogram histogram({0.005, 0.1});
  histogram.observe(2ms);
  histogram.observe(50ms);
  histogram.observe(3s);
  PrometheusText text;
  text.counter("chat_messages_total", "Messages received.", 42, {{"room", "lobby"}});
  text.counter("chat_messages_total", "Messages received.", 7, {{"room", "dev"}});
  text.gauge("chat_sessions", "Open sessions.", 3);
  text.gauge("chat_load", "A ratio.", 0.25);
  text.histogram("chat_fanout_seconds", "Fan-out latency.", histogram.snapshot(), {{"shard", "0"}});
  CHECK(text.take() ==
        "# HELP chat_messages_total Messages received.\n"
        "# TYPE chat_messages_total counter\n"
        "chat_messages_total{room=\"lobby\"} 42\n"
        "chat_messages_total{room=\"dev\"} 7\n"
        "# HELP chat_sessions Open sessions.\n"
        "# TYPE chat_sessions gauge\n"
        "chat_sessions 3\n"
        "# HELP chat_load A ratio.\n"
        "# TYPE chat_load gauge\n"
        "chat_load 0.25\n"
        "# HELP chat_fanout_seconds Fan-out latency.\n"
        "# TYPE chat_fanout_seconds histogram\n"
        "chat_fanout_seconds_bucket{shard=\"0\",le=\"0.005\"} 1\n"
        "chat_fanout_seconds_bucket{shard=\"0\",le=\"0.1\"} 2\n"
        "chat_fanout_seconds_bucket{shard=\"0\",le=\"+Inf\"} 3\n"
        "chat_fanout_seconds_sum{shard=\"0\"} 3.052\n"
        "chat_fanout_seconds_count{shard=\"0\"} 3\n");
  CHECK(text.take().empty());
}

TEST_CASE("label values and help text are escaped") {
  PrometheusText text;
  text.gauge("g", "back\\slash, \"quotes\"\nand a newline", 1, {{"v", "a\\b\"c\nd"}});
  CHECK(text.take() ==
        "# HELP g back\\\\slash, \"quotes\"\\nand a newline\n"
        "# TYPE g gauge\n"
        "g{v=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST_CASE("values print as integers or as the shortest double that reads back") {
  auto sample = [](MetricValue value) {
    PrometheusText text;
    text.gauge("g", "h", value);
    const std::string out = text.take();
    return out.substr(out.rfind(' ') + 1);
  };
  CHECK(sample(std::numeric_limits<std::uint64_t>::max()) == "18446744073709551615\n");
  CHECK(sample(-3) == "-3\n");
  CHECK(sample(1.0) == "1\n");
  CHECK(sample(0.1) == "0.1\n");
  CHECK(sample(1e-7) == "1e-07\n");
  CHECK(sample(std::numeric_limits<double>::infinity()) == "+Inf\n");
  CHECK(sample(-std::numeric_limits<double>::infinity()) == "-Inf\n");
  CHECK(sample(std::nan("")) == "NaN\n");
}

TEST_CASE("a family is written once, in one piece") {
  PrometheusText text;
  text.gauge("a", "first", 1, {{"k", "1"}});
  text.gauge("a", "ignored", 2, {{"k", "2"}});
  text.gauge("b", "other", 3);
  CHECK_THROWS_AS(text.gauge("a", "first", 4, {{"k", "3"}}), std::logic_error);
  CHECK_THROWS_AS(text.counter("b", "other", 5), std::invalid_argument);  // not ..._total
  CHECK_THROWS_AS(text.histogram("b", "other", LatencyHistogram({1}).snapshot()), std::logic_error);
  const std::string out = text.take();
  CHECK(out ==
        "# HELP a first\n# TYPE a gauge\na{k=\"1\"} 1\na{k=\"2\"} 2\n"
        "# HELP b other\n# TYPE b gauge\nb 3\n");

  text.gauge("a", "again, after take()", 1);
  CHECK(text.take() == "# HELP a again, after take()\n# TYPE a gauge\na 1\n");
}

TEST_CASE("bad metric and label names are refused") {
  PrometheusText text;
  for (const char* name : {"", "1abc", "a-b", "a b", "caf\xc3\xa9"}) {
    CAPTURE(name);
    CHECK_THROWS_AS(text.gauge(name, "h", 1), std::invalid_argument);
  }
  CHECK_NOTHROW(text.gauge("ns:sub_name9", "h", 1));
  CHECK_THROWS_AS(text.counter("chat_messages", "h", 1), std::invalid_argument);
  for (const char* label : {"", "__reserved", "9a", "a:b"}) {
    CAPTURE(label);
    CHECK_THROWS_AS(text.gauge("g", "h", 1, {{label, "v"}}), std::invalid_argument);
  }
  CHECK_THROWS_AS(text.histogram("h_seconds", "h", LatencyHistogram().snapshot(), {{"le", "1"}}),
                  std::invalid_argument);
}

namespace {

struct Outcome {
  HttpParseStatus status;
  int error_status;
  bool operator==(const Outcome&) const = default;
};

Outcome parse_whole(std::string_view text) {
  HttpRequestParser parser;
  parser.feed(text);
  return {parser.status(), parser.error_status()};
}

Outcome parse_bytewise(std::string_view text) {
  HttpRequestParser parser;
  for (const char c : text) parser.feed(std::string_view(&c, 1));
  return {parser.status(), parser.error_status()};
}

// Both ways of feeding must agree; returns the answer to send (0 when complete, -1 for more).
int answer_to(std::string_view text) {
  const Outcome whole = parse_whole(text);
  CHECK(whole == parse_bytewise(text));
  if (whole.status == HttpParseStatus::need_more) return -1;
  return whole.status == HttpParseStatus::complete ? 0 : whole.error_status;
}

// A request whose head (without the final blank line) is exactly head_bytes long.
std::string request_with_head_of(std::size_t head_bytes) {
  const std::string start = "GET / HTTP/1.1\r\nX-Fill: ";
  return start + std::string(head_bytes - start.size() - 2, 'f') + "\r\n\r\n";
}

}  // namespace

TEST_CASE("a request head is parsed, with CRLF or LF line ends") {
  for (const std::string_view text :
       {"GET /metrics?name=a&b HTTP/1.1\r\nHost: example\r\nAccept:  text/plain \r\n\r\n",
        "GET /metrics?name=a&b HTTP/1.1\nHost: example\nAccept:text/plain\n\n"}) {
    HttpRequestParser parser;
    REQUIRE(parser.feed(text) == HttpParseStatus::complete);
    const HttpRequest& request = parser.request();
    CHECK(request.method == "GET");
    CHECK(request.path == "/metrics");
    CHECK(request.query == "name=a&b");
    CHECK(request.version_minor == 1);
    REQUIRE(request.headers.size() == 2);
    CHECK(*request.header("host") == "example");
    CHECK(*request.header("ACCEPT") == "text/plain");
    CHECK(request.header("Cookie") == nullptr);
  }
}

TEST_CASE("request forms the parser accepts") {
  HttpRequestParser old;
  REQUIRE(old.feed("\r\nHEAD / HTTP/1.0\r\n\r\n") == HttpParseStatus::complete);
  CHECK(old.request().method == "HEAD");
  CHECK(old.request().version_minor == 0);
  CHECK(old.request().query.empty());

  HttpRequestParser absolute;
  REQUIRE(absolute.feed("GET http://host:9/a/b?x HTTP/1.1\r\n\r\n") == HttpParseStatus::complete);
  CHECK(absolute.request().path == "/a/b");
  CHECK(absolute.request().query == "x");

  HttpRequestParser other_method;  // parsed; the endpoint answers 405
  REQUIRE(other_method.feed("POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc") ==
          HttpParseStatus::complete);
  CHECK(other_method.request().method == "POST");
  CHECK(other_method.feed("more") == HttpParseStatus::complete);
}

TEST_CASE("malformed request heads are answered 400 or 505") {
  CHECK(answer_to("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03") == 400);  // a TLS hello
  CHECK(answer_to(" GET / HTTP/1.1\r\n\r\n") == 400);
  CHECK(answer_to("GET /\r\n\r\n") == 400);
  CHECK(answer_to("GET / HTTP/1.1 extra\r\n\r\n") == 400);
  CHECK(answer_to("GET  / HTTP/1.1\r\n\r\n") == 400);
  CHECK(answer_to("GET relative HTTP/1.1\r\n\r\n") == 400);
  CHECK(answer_to("GET /a\x01 HTTP/1.1\r\n\r\n") == 400);
  CHECK(answer_to("GET / HTTP/1\r\n\r\n") == 400);
  CHECK(answer_to("GET / http/1.1\r\n\r\n") == 400);
  CHECK(answer_to("G\rET / HTTP/1.1\r\n\r\n") == 400);
  CHECK(answer_to("GET / HTTP/1.1\r\nno colon\r\n\r\n") == 400);
  CHECK(answer_to("GET / HTTP/1.1\r\nHost : x\r\n\r\n") == 400);
  CHECK(answer_to("GET / HTTP/1.1\r\n: x\r\n\r\n") == 400);
  CHECK(answer_to("GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n") == 400);
  CHECK(answer_to("GET / HTTP/1.1\r\nA: b\x7f\r\n\r\n") == 400);
  CHECK(answer_to("GET / HTTP/1.1\r\nA: b\rc\r\n\r\n") == 400);
  CHECK(answer_to("GET / HTTP/2.0\r\n\r\n") == 505);
  CHECK(answer_to("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == 505);
  CHECK(answer_to("GET / HTTP/1.2\r\n\r\n") == 505);
  CHECK(answer_to("GET / HTTP/0.9\r\n\r\n") == 505);

  HttpRequestParser parser;
  CHECK(parser.feed("\x16") == HttpParseStatus::error);  // known bad at the first byte
  CHECK(parser.error_status() == 400);
  CHECK(parser.error_reason() == "malformed request line");
}

TEST_CASE("a target over 2 KiB is answered 414, as soon as it is too long") {
  CHECK(answer_to("GET /" + std::string(2047, 'a') + " HTTP/1.1\r\n\r\n") == 0);
  CHECK(answer_to("GET /" + std::string(2048, 'a') + " HTTP/1.1\r\n\r\n") == 414);
  CHECK(answer_to("GET /" + std::string(2048, 'a')) == 414);  // no line end needed
  CHECK(answer_to("GET /" + std::string(100'000, 'a')) == 414);
}

TEST_CASE("a head over 8 KiB is answered 431, as soon as it is too long") {
  CHECK(answer_to(request_with_head_of(8192)) == 0);
  CHECK(answer_to(request_with_head_of(8193)) == 431);
  CHECK(answer_to("GET / HTTP/1.1\r\nX: " + std::string(9000, 'x')) == 431);
  CHECK(answer_to("GET / HTTP/1.1\r\n" + std::string(9000, '\n')) == 0);  // the first ends it
  CHECK(answer_to(std::string(9000, '\n')) == 431);  // blank lines before the request line
  CHECK(answer_to(std::string(9000, '\r')) == 431);
  CHECK(answer_to("GET / HTTP/1.1" + std::string(9000, ' ')) == 431);

  HttpRequestParser parser;
  CHECK(parser.feed("GET / HTTP/1.1\r\nX: " + std::string(9000, 'x')) == HttpParseStatus::error);
  CHECK(parser.error_reason() == "request head longer than 8192 bytes");
}

TEST_CASE("a truncated head needs more, and is an error when the stream ends") {
  const std::string full = "GET /x HTTP/1.1\r\nHost: h\r\n\r\n";
  for (std::size_t length = 0; length < full.size(); ++length) {
    CAPTURE(length);
    HttpRequestParser parser;
    CHECK(parser.feed(full.substr(0, length)) == HttpParseStatus::need_more);
    CHECK(parser.finish() == HttpParseStatus::error);
    CHECK(parser.error_status() == 400);
  }
  CHECK(answer_to(full) == 0);
  HttpRequestParser done;
  done.feed(full);
  CHECK(done.finish() == HttpParseStatus::complete);
}
