#pragma once
// One queued store operation. apply() runs on the store thread against its statements and returns
// the report to make: the writer makes it after the batch committed, the reader at once. fail()
// reports an error instead (the op threw, or its batch did not commit).

#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace chat::server::storage {

template <typename Statements>
struct StoreOp {
  std::function<std::function<void()>(Statements&)> apply;
  std::function<void(const std::string& error)> fail;
};

// Builds a StoreOp from work (Statements& -> Result) and the caller's callback (may be empty). A
// failure reports a default-constructed Result (which means "failed") with its error set.
template <typename Result, typename Statements, typename Work>
StoreOp<Statements> make_store_op(Work work, std::function<void(Result)> done) {
  auto callback = std::make_shared<std::function<void(Result)>>(std::move(done));
  return {[work = std::move(work), callback](Statements& statements) -> std::function<void()> {
            return [callback, result = work(statements)]() mutable {
              if (*callback) (*callback)(std::move(result));
            };
          },
          [callback](const std::string& error) {
            Result result{};
            result.error = error;
            if (*callback) (*callback)(std::move(result));
          }};
}

}  // namespace chat::server::storage
