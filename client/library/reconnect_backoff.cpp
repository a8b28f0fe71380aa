#include "reconnect_backoff.hpp"

#include <algorithm>
#include <cmath>

namespace chat::client {

std::chrono::milliseconds ReconnectBackoff::next() {
  const double base = static_cast<double>(options_.initial.count()) *
                      std::pow(options_.multiplier, std::min(attempts_, 60));
  const double capped = std::min(base, static_cast<double>(options_.max.count()));
  ++attempts_;
  std::uniform_real_distribution<double> factor(1.0 - options_.jitter, 1.0 + options_.jitter);
  const double jittered =
      std::clamp(capped * factor(random_), 0.0, static_cast<double>(options_.max.count()));
  return std::chrono::milliseconds(static_cast<long long>(jittered));
}

}  // namespace chat::client
