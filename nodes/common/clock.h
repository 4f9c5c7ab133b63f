// A node's own clock, which a clock fault can skew: real time moved by an offset and run at a
// rate. Every reference node reads the time through its process's node_clock() wherever a real
// system's clock decides something (the db's leases and election timers, key expiry, the
// cache's TTLs, the broker's ack timeouts and blocking deadlines), and answers
// `CLOCK GET | SET <offset-ms> <rate> | RESET` over RESP (add_clock_command), so the harness can
// skew one node and watch what the others make of it. Asio timers still run on real time: they
// only wake the code that then compares its deadlines against this clock.
//
// Both readers are skewed the same way. A real CLOCK_MONOTONIC is never stepped, only slewed;
// stepping the steady reader too models a node whose timers follow a clock that can jump (a
// wall clock, a VM resumed after a pause, libfaketime's default). Use offset 0 and a rate for a
// pure drift.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "common/error.h"

namespace fl::nodes {

class CommandTable;

// What a clock fault sets. Offset 0 and rate 1 are real time.
struct ClockSkew {
  // How far the clock is moved at the moment the skew is set (negative: behind).
  std::chrono::milliseconds offset{0};
  // Skewed seconds per real second from that moment on. Finite, > 0.
  double rate = 1.0;
  bool operator==(const ClockSkew&) const = default;
};

// Bounds CLOCK SET accepts.
inline constexpr double kMinClockRate = 0.001;
inline constexpr double kMaxClockRate = 1000.0;
inline constexpr std::chrono::milliseconds kMaxClockOffset{10LL * 365 * 24 * 3600 * 1000};

// The skew, if both parts are within bounds; errc::invalid_argument naming the bad part if not.
result<ClockSkew> make_clock_skew(int64_t offset_ms, double rate);

// The real clocks a SkewedClock skews; an interface so tests move time by hand.
class RealTime {
 public:
  virtual ~RealTime() = default;
  // Nanoseconds of std::chrono::steady_clock since its epoch.
  virtual int64_t steady_ns() const = 0;
  // Nanoseconds of std::chrono::system_clock since the Unix epoch.
  virtual int64_t wall_ns() const = 0;
};

// std::chrono's steady_clock and system_clock.
const RealTime& system_real_time();

// Real time under a ClockSkew. Thread-safe: set() from any thread; the readers are lock-free (a
// sequence lock) and, with no skew set, cost one extra atomic load over the real clock.
class SkewedClock {
 public:
  // `real` must outlive the clock.
  explicit SkewedClock(const RealTime& real = system_real_time());
  SkewedClock(const SkewedClock&) = delete;
  SkewedClock& operator=(const SkewedClock&) = delete;

  // From now on each reader returns what its real clock reads now, plus skew.offset, advancing
  // skew.rate nanoseconds per real nanosecond. Replaces any earlier skew (offsets do not add
  // up). REQUIRES: skew within bounds (make_clock_skew).
  void set(ClockSkew skew);
  // Back to real time (a step, when the clock was ahead or behind).
  void reset() { set(ClockSkew{}); }
  ClockSkew skew() const;

  // The skewed steady clock: for timers, leases, TTLs measured from a local moment.
  int64_t steady_ns() const;
  int64_t steady_ms() const { return floor_div(steady_ns(), 1'000'000); }
  // The skewed wall clock, since the Unix epoch: for absolute times (expiry, timestamps).
  int64_t wall_ns() const;
  int64_t wall_ms() const { return floor_div(wall_ns(), 1'000'000); }

 private:
  struct State {
    int64_t offset_ns = 0;
    double rate = 1.0;
    int64_t steady_anchor = 0;  // real readings when the skew was set
    int64_t wall_anchor = 0;
  };
  static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b < 0 ? 1 : 0); }
  static int64_t skewed(int64_t real, int64_t anchor, const State& s);
  State load() const;

  const RealTime& real_;
  std::mutex write_mu_;  // serializes writers of the sequence lock
  std::atomic<uint64_t> seq_{0};
  std::atomic<bool> skewed_{false};
  std::atomic<int64_t> offset_ns_{0};
  std::atomic<double> rate_{1.0};
  std::atomic<int64_t> steady_anchor_{0};
  std::atomic<int64_t> wall_anchor_{0};
};

// This process's clock: the one a reference node reads and CLOCK sets.
SkewedClock& node_clock();

// Registers CLOCK in `table`:
//   CLOCK GET                    -> [offset ms (integer), rate (bulk string), now unix ms]
//   CLOCK SET <offset-ms> <rate> -> +OK (offset an integer, may be negative; rate a decimal)
//   CLOCK RESET                  -> +OK
// Bad arguments answer -ERR and change nothing.
void add_clock_command(CommandTable& table, SkewedClock& clock = node_clock());

}  // namespace fl::nodes
