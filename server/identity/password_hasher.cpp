#include "password_hasher.hpp"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

namespace chat::server::storage {

namespace {

void init_sodium() {
  static const int result = sodium_init();
  if (result < 0) throw std::runtime_error("libsodium failed to initialise");
}

}  // namespace

PasswordHashCost PasswordHashCost::interactive() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}

PasswordHashCost PasswordHashCost::minimum() {
  return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

std::string hash_password(std::string_view password, PasswordHashCost cost) {
  init_sodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost.opslimit, cost.memlimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("password hashing failed (out of memory)");
  }
  return out;
}

bool verify_password(std::string_view hash, std::string_view password) {
  init_sodium();
  // libsodium reads the hash as a C string.
  const std::string terminated(hash);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

PasswordHasher::PasswordHasher(std::size_t threads, PasswordHashCost cost) : cost_(cost) {
  init_sodium();
  for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i) {
    threads_.emplace_back([this] { run(); });
  }
}

PasswordHasher::~PasswordHasher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void PasswordHasher::hash(std::string password, std::function<void(std::string)> done) {
  push([this, password = std::move(password), done = std::move(done)] {
    std::string hashed;
    try {
      hashed = hash_password(password, cost_);
    } catch (const std::runtime_error&) {
      hashed.clear();
    }
    if (done) done(std::move(hashed));
  });
}

void PasswordHasher::verify(std::string hash, std::string password,
                            std::function<void(bool)> done) {
  push([hash = std::move(hash), password = std::move(password), done = std::move(done)] {
    const bool matches = verify_password(hash, password);
    if (done) done(matches);
  });
}

// Notifies under the lock: once a job is taken, its callback may let the owner destroy this
// object, and a notify after the unlock would then touch a destroyed condition variable.
void PasswordHasher::push(std::function<void()> job) {
  std::lock_guard lock(mutex_);
  jobs_.push_back(std::move(job));
  ready_.notify_one();
}

void PasswordHasher::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

}  // namespace chat::server::storage
