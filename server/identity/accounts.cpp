#include "accounts.hpp"

#include "names.hpp"
#include "utf8.hpp"

namespace chat::server {
namespace {

LoginResult refused(v1::Error::Code code, std::string message, std::uint32_t retry_after_ms = 0) {
  LoginResult result;
  result.code = code;
  result.message = std::move(message);
  result.retry_after_ms = retry_after_ms;
  return result;
}

LoginResult admitted(bool registered) {
  LoginResult result;
  result.ok = true;
  result.registered = registered;
  return result;
}

}  // namespace

Accounts::Accounts(RoomLog& log, const AccountsOptions& options)
    : log_(log),
      guests_(options.guests),
      guard_(options.failed_login_burst, options.failed_login_refill),
      hasher_(options.hash_threads, options.cost) {}

Accounts::~Accounts() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return in_flight_ == 0; });
}

std::function<void(LoginResult)> Accounts::track(std::function<void(LoginResult)> done) {
  {
    std::lock_guard lock(mutex_);
    ++in_flight_;
  }
  return [this, done = std::move(done)](LoginResult result) {
    done(std::move(result));
    std::lock_guard lock(mutex_);
    if (--in_flight_ == 0) idle_.notify_all();
  };
}

std::optional<std::string> Accounts::check_password(const std::string& password) {
  if (password.size() < 6 || password.size() > 1024 || !utf8::is_valid(password)) {
    return "a password is 6 to 1024 bytes of UTF-8";
  }
  return std::nullopt;
}

void Accounts::login(std::string nick, std::string password, std::string address,
                     std::function<void(LoginResult)> done_untracked) {
  auto done = track(std::move(done_untracked));
  if (const auto wait = guard_.wait_before_attempt(address); wait.count() > 0) {
    const auto seconds = (wait.count() + 999) / 1000;
    return done(refused(
        v1::Error::RATE_LIMITED,
        "too many failed logins from your address: retry in " + std::to_string(seconds) + " s",
        static_cast<std::uint32_t>(wait.count())));
  }
  std::string key = name_key(nick);
  log_.find_account(key, [this, key, nick = std::move(nick), password = std::move(password),
                          address = std::move(address),
                          done = std::move(done)](storage::FindAccountResult found) mutable {
    if (!found.ok) return done(refused(v1::Error::UNAVAILABLE, "accounts are unavailable"));
    if (found.password_hash) {
      if (password.empty()) {
        return done(refused(v1::Error::AUTH_FAILED, nick + " is registered: give its password"));
      }
      return verify(key, std::move(*found.password_hash), std::move(password), std::move(address),
                    std::move(done));
    }
    if (guests_) return done(admitted(false));
    if (password.empty()) {
      return done(refused(v1::Error::AUTH_FAILED,
                          "this server admits registered nicks only: connect with a password to "
                          "register " +
                              nick));
    }
    create(std::move(nick), std::move(password), std::move(done));
  });
}

void Accounts::verify(std::string nick_key, std::string hash, std::string password,
                      std::string address, std::function<void(LoginResult)> done) {
  hasher_.verify(std::move(hash), std::move(password),
                 [this, nick_key = std::move(nick_key), address = std::move(address),
                  done = std::move(done)](bool matches) mutable {
                   if (!matches) {
                     guard_.failed(address);
                     return done(refused(v1::Error::AUTH_FAILED, "wrong password"));
                   }
                   log_.read_markers(nick_key, [done = std::move(done)](
                                                   storage::ReadMarkersResult markers) mutable {
                     LoginResult result = admitted(true);
                     result.read_markers = std::move(markers.markers);
                     done(std::move(result));
                   });
                 });
}

void Accounts::register_nick(std::string nick, std::string password,
                             std::function<void(LoginResult)> done) {
  create(std::move(nick), std::move(password), track(std::move(done)));
}

void Accounts::create(std::string nick, std::string password,
                      std::function<void(LoginResult)> done) {
  if (auto problem = check_password(password)) {
    return done(refused(v1::Error::BAD_REQUEST, *problem));
  }
  hasher_.hash(std::move(password), [this, nick = std::move(nick),
                                     done = std::move(done)](std::string hash) mutable {
    if (hash.empty()) return done(refused(v1::Error::INTERNAL, "cannot hash the password"));
    std::string key = name_key(nick);
    log_.create_account(
        std::move(key), nick, std::move(hash),
        [nick, done = std::move(done)](storage::CreateAccountResult created) {
          using Status = storage::CreateAccountResult::Status;
          if (created.status == Status::created) return done(admitted(true));
          if (created.status == Status::exists) {
            return done(refused(v1::Error::NICK_IN_USE, nick + " is registered already"));
          }
          done(refused(v1::Error::UNAVAILABLE, "accounts are unavailable"));
        });
  });
}

}  // namespace chat::server
