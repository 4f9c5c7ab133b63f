// Wall-clock time in milliseconds, injected so expiry is tested without sleeping.
#pragma once

#include <cstdint>

namespace fl::db {

// Milliseconds since the Unix epoch. Absolute, as Redis keeps expiry times.
using TimeMs = int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeMs now_ms() const = 0;
};

// The real clock (std::chrono::system_clock).
class SystemClock final : public Clock {
 public:
  TimeMs now_ms() const override;
};

// A clock that moves only when told; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimeMs start = 1'700'000'000'000) : now_(start) {}
  TimeMs now_ms() const override { return now_; }
  void advance(TimeMs ms) { now_ += ms; }
  void set(TimeMs ms) { now_ = ms; }

 private:
  TimeMs now_;
};

}  // namespace fl::db
