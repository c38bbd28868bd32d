// Time as the broker sees it: storage's one clock interface, injected so retention, session
// timeouts and long polls can be tested without waiting.
#ifndef FERRY_SERVER_BROKER_CLOCK_H_
#define FERRY_SERVER_BROKER_CLOCK_H_

#include "storage/clock.h"

namespace ferry::broker {

using Clock = storage::Clock;
using RealClock = storage::RealClock;
using FakeClock = storage::FakeClock;

}  // namespace ferry::broker

#endif  // FERRY_SERVER_BROKER_CLOCK_H_
