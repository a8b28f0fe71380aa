#pragma once
// What a client call returns: its value, or why it failed. Failures use the protocol's error codes
// (the server's, or UNAVAILABLE when there was no connection or no reply in time).

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "chat.pb.h"

namespace chat::client {

struct Failure {
  v1::Error::Code code = v1::Error::INTERNAL;
  std::string message;
  std::uint32_t retry_after_ms = 0;
};

// For calls that only succeed or fail.
struct Done {};

template <class T>
class Result {
 public:
  Result(T value) : value_(std::in_place_index<0>, std::move(value)) {}
  Result(Failure failure) : value_(std::in_place_index<1>, std::move(failure)) {}

  bool ok() const { return value_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(value_); }
  const T& value() const { return std::get<0>(value_); }
  const Failure& failure() const { return std::get<1>(value_); }

 private:
  std::variant<T, Failure> value_;
};

}  // namespace chat::client
