// Clock: the time as storage's logic reads it (the fsync interval), injected so that tests can
// move it; the broker's clock can be adapted to it. Implementations are thread-safe.
#ifndef FERRY_STORAGE_CLOCK_H_
#define FERRY_STORAGE_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace ferry::storage {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;

  // absl::Now(). Never destroyed.
  static const Clock* Real();
};

inline const Clock* Clock::Real() {
  class RealClock final : public Clock {
   public:
    absl::Time Now() const override { return absl::Now(); }
  };
  static const Clock* const real = new RealClock();
  return real;
}

}  // namespace ferry::storage

#endif  // FERRY_STORAGE_CLOCK_H_
