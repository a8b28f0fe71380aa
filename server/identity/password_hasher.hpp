#pragma once
// argon2id password hashes (libsodium crypto_pwhash_str), and a small thread pool that computes
// them off the caller's thread: a hash takes tens of milliseconds and tens of megabytes by design.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace chat::server::storage {

// How expensive one hash is; stored in the hash string, so verifying needs no cost.
struct PasswordHashCost {
  std::uint64_t opslimit = 0;
  std::size_t memlimit = 0;

  static PasswordHashCost interactive();  // libsodium's INTERACTIVE: the default
  static PasswordHashCost minimum();      // libsodium's MIN: for tests only
};

// Returns a "$argon2id$..." string. Throws std::runtime_error when libsodium cannot (out of
// memory).
std::string hash_password(std::string_view password,
                          PasswordHashCost cost = PasswordHashCost::interactive());
// False for a wrong password and for a malformed hash.
bool verify_password(std::string_view hash, std::string_view password);

class PasswordHasher {
 public:
  explicit PasswordHasher(std::size_t threads = 2,
                          PasswordHashCost cost = PasswordHashCost::interactive());
  // Finishes every queued job (calling its callback), then joins the threads.
  ~PasswordHasher();
  PasswordHasher(const PasswordHasher&) = delete;
  PasswordHasher& operator=(const PasswordHasher&) = delete;

  // done runs on a pool thread with the hash, or with "" when hashing failed.
  void hash(std::string password, std::function<void(std::string)> done);
  // done runs on a pool thread.
  void verify(std::string hash, std::string password, std::function<void(bool)> done);

 private:
  void push(std::function<void()> job);
  void run();

  PasswordHashCost cost_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace chat::server::storage
