// Clock: time as Ferry's logic reads it (retention, session timeouts, the fsync interval,
// Kafka long polls), injected so that tests can move it. The one clock interface: the broker
// and the group coordinator use it too (server/broker/clock.h). Implementations are
// thread-safe.
#ifndef FERRY_STORAGE_CLOCK_H_
#define FERRY_STORAGE_CLOCK_H_

#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ferry::storage {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  int64_t NowMs() const { return absl::ToUnixMillis(Now()); }

  // absl::Now(). Never destroyed.
  static const Clock* Real();
};

class RealClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

inline const Clock* Clock::Real() {
  static const Clock* const real = new RealClock();
  return real;
}

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'000'000)) : now_(start) {}
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_CLOCK_H_
