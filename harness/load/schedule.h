// The open-loop schedule, as in wrk2: the n-th operation of a phase is due at start + n / rate,
// whether or not earlier ones have finished. Its latency is measured from that intended time,
// so a stalled server shows in the percentiles instead of silently lowering the rate
// ("coordinated omission"). Pure logic over times handed in by the caller: tested without
// sleeping, driven by a timer in the runner.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace fl::load {

class OpenLoopSchedule {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  struct Start {
    TimePoint intended;
    // Started later than planned: it had to wait for a free process, or the caller came to it
    // more than `late_slack` after its time.
    bool late = false;
  };

  // REQUIRES: rate > 0, max_in_flight >= 1.
  OpenLoopSchedule(double rate, TimePoint start, int max_in_flight,
                   std::chrono::nanoseconds late_slack = std::chrono::milliseconds(1));

  // The intended start of the next operation not yet released.
  TimePoint next_due() const { return due(released_); }

  // Releases every operation due at or before `now`. Those that find a free process are
  // appended to `out` and count as in flight; the others wait in a backlog, counted late.
  void advance(TimePoint now, std::vector<Start>& out);

  // An operation ended: its process takes the oldest waiting start, if there is one (returned,
  // still in flight), or becomes free.
  std::optional<Start> finished();

  // Due, not started: waiting for a process.
  size_t backlog() const { return backlog_.size(); }
  int in_flight() const { return in_flight_; }
  // Operations whose time has come so far (started or waiting).
  int64_t released() const { return released_; }
  // Operations counted late so far (including those still waiting).
  int64_t late() const { return late_; }

 private:
  TimePoint due(int64_t n) const;

  double rate_;
  TimePoint start_;
  int max_in_flight_;
  std::chrono::nanoseconds late_slack_;
  int64_t released_ = 0;
  int64_t late_ = 0;
  int in_flight_ = 0;
  std::deque<TimePoint> backlog_;
};

}  // namespace fl::load
