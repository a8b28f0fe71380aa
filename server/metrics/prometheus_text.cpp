#include "prometheus_text.hpp"

#include <fmt/format.h>

#include <cmath>
#include <iterator>
#include <stdexcept>

namespace chat::server {
namespace {

bool is_name_start(char c, bool colon_ok) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':');
}

bool is_name_char(char c, bool colon_ok) {
  return is_name_start(c, colon_ok) || (c >= '0' && c <= '9');
}

bool is_valid_name(std::string_view name, bool colon_ok) {
  if (name.empty() || !is_name_start(name.front(), colon_ok)) return false;
  for (const char c : name)
    if (!is_name_char(c, colon_ok)) return false;
  return true;
}

void check_metric_name(std::string_view name) {
  if (!is_valid_name(name, true))
    throw std::invalid_argument(fmt::format("invalid metric name '{}'", name));
}

void check_label_names(std::string_view metric, const PrometheusText::Labels& labels) {
  for (const auto& [label, value] : labels) {
    if (!is_valid_name(label, false) || label.starts_with("__"))
      throw std::invalid_argument(fmt::format("metric {}: invalid label name '{}'", metric, label));
  }
}

// HELP text escapes backslash and newline; label values also the double quote.
void append_escaped(std::string& out, std::string_view text, bool quote) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

std::string format_double(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

}  // namespace

MetricValue::MetricValue(double value) : text_(format_double(value)) {}

void PrometheusText::counter(std::string_view name, std::string_view help, MetricValue value,
                             const Labels& labels) {
  if (!name.ends_with("_total"))
    throw std::invalid_argument(fmt::format("counter '{}' is not named ..._total", name));
  begin_family(name, help, "counter", labels);
  write_sample(name, labels, value.text());
}

void PrometheusText::gauge(std::string_view name, std::string_view help, MetricValue value,
                           const Labels& labels) {
  begin_family(name, help, "gauge", labels);
  write_sample(name, labels, value.text());
}

void PrometheusText::histogram(std::string_view name, std::string_view help,
                               const LatencyHistogram::Snapshot& snapshot, const Labels& labels) {
  for (const auto& label : labels) {
    if (label.first == "le")
      throw std::invalid_argument(fmt::format("histogram {}: the label 'le' is reserved", name));
  }
  begin_family(name, help, "histogram", labels);
  const std::string bucket = fmt::format("{}_bucket", name);
  for (std::size_t i = 0; i < snapshot.bounds.size() && i < snapshot.cumulative.size(); ++i)
    write_sample(bucket, labels, std::to_string(snapshot.cumulative[i]),
                 format_double(snapshot.bounds[i]));
  const std::string count = std::to_string(snapshot.count);
  write_sample(bucket, labels, count, "+Inf");
  write_sample(fmt::format("{}_sum", name), labels, format_double(snapshot.sum));
  write_sample(fmt::format("{}_count", name), labels, count);
}

std::string PrometheusText::take() {
  family_.clear();
  family_type_.clear();
  finished_.clear();
  return std::exchange(out_, {});
}

void PrometheusText::begin_family(std::string_view name, std::string_view help,
                                  std::string_view type, const Labels& labels) {
  check_metric_name(name);
  check_label_names(name, labels);
  if (name == family_) {
    if (type != family_type_)
      throw std::logic_error(
          fmt::format("metric {} written as a {} and as a {}", name, family_type_, type));
    return;
  }
  if (finished_.contains(name))
    throw std::logic_error(fmt::format("metric {}: samples of a family must be consecutive", name));
  if (!family_.empty()) finished_.insert(std::move(family_));
  family_ = name;
  family_type_ = type;
  out_ += "# HELP ";
  out_ += name;
  if (!help.empty()) {
    out_ += ' ';
    append_escaped(out_, help, false);
  }
  fmt::format_to(std::back_inserter(out_), "\n# TYPE {} {}\n", name, type);
}

void PrometheusText::write_sample(std::string_view name, const Labels& labels,
                                  std::string_view value, std::string_view le) {
  out_ += name;
  if (!labels.empty() || !le.empty()) {
    char separator = '{';
    for (const auto& [label, label_value] : labels) {
      out_ += separator;
      out_ += label;
      out_ += "=\"";
      append_escaped(out_, label_value, true);
      out_ += '"';
      separator = ',';
    }
    if (!le.empty()) fmt::format_to(std::back_inserter(out_), "{}le=\"{}\"", separator, le);
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

}  // namespace chat::server
