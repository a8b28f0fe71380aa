#include <doctest/doctest.h>

#include "token_bucket.hpp"

using namespace std::chrono_literals;

TEST_CASE("a token bucket allows its burst, then its rate") {
  const auto t0 = chat::TokenBucket::clock::time_point{};
  chat::TokenBucket bucket(10, 5, t0);
  for (int i = 0; i < 5; ++i) CHECK(bucket.try_take(1, t0));
  CHECK_FALSE(bucket.try_take(1, t0));
  CHECK(bucket.wait_for(1, t0) > 0ms);
  CHECK(bucket.wait_for(1, t0) <= 101ms);
  CHECK(bucket.try_take(1, t0 + 100ms));
  CHECK_FALSE(bucket.try_take(1, t0 + 100ms));
  CHECK(bucket.try_take(5, t0 + 10s));  // refills only up to the burst
  CHECK_FALSE(bucket.try_take(1, t0 + 10s));
}

TEST_CASE("a rate of zero is unlimited") {
  chat::TokenBucket bucket(0, 0);
  for (int i = 0; i < 1000; ++i) CHECK(bucket.try_take(100));
}
