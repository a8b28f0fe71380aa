#pragma once
// Logins and registrations. Password hashes are made and checked on a worker pool, never on a
// shard thread; accounts live in the RoomLog; failed logins are limited per source address.
// Callbacks run on the pool's or the store's threads: callers post back to their shard.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "chat.pb.h"
#include "login_guard.hpp"
#include "password_hasher.hpp"
#include "room_log.hpp"

namespace chat::server {

struct AccountsOptions {
  bool guests = true;  // unregistered nicks may connect
  std::size_t hash_threads = 2;
  storage::PasswordHashCost cost = storage::PasswordHashCost::interactive();
  std::uint32_t failed_login_burst = 5;
  std::chrono::seconds failed_login_refill{10};
};

struct LoginResult {
  bool ok = false;
  v1::Error::Code code = v1::Error::INTERNAL;
  std::string message;
  std::uint32_t retry_after_ms = 0;
  bool registered = false;
  std::vector<storage::ReadMarker> read_markers;  // registered nicks only
};

class Accounts {
 public:
  Accounts(RoomLog& log, const AccountsOptions& options);
  // Waits for the logins and registrations under way (their chains run through the store and the
  // hashing pool, both of which must outlive this).
  ~Accounts();

  // A registered nick needs its password. An unregistered one is a guest when guests are allowed;
  // otherwise a password registers it on this first login.
  void login(std::string nick, std::string password, std::string address,
             std::function<void(LoginResult)> done);
  // Claims a nick with a password (NICK_IN_USE when it is registered already).
  void register_nick(std::string nick, std::string password, std::function<void(LoginResult)> done);

  // Whether unregistered nicks may be used (guests = "allow"), for login and nick changes alike.
  bool admits_guests() const { return guests_; }

  // A one-line reason when a password is not acceptable.
  static std::optional<std::string> check_password(const std::string& password);

 private:
  // Wraps a caller's callback so that the destructor knows when the last one has run.
  std::function<void(LoginResult)> track(std::function<void(LoginResult)> done);
  void verify(std::string nick_key, std::string hash, std::string password, std::string address,
              std::function<void(LoginResult)> done);
  void create(std::string nick, std::string password, std::function<void(LoginResult)> done);

  RoomLog& log_;
  bool guests_;
  std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t in_flight_ = 0;
  LoginGuard guard_;
  storage::PasswordHasher hasher_;
};

}  // namespace chat::server
