#include "harness/load/schedule.h"

#include <cmath>

namespace fl::load {

OpenLoopSchedule::OpenLoopSchedule(double rate, TimePoint start, int max_in_flight,
                                   std::chrono::nanoseconds late_slack)
    : rate_(rate), start_(start), max_in_flight_(max_in_flight), late_slack_(late_slack) {}

OpenLoopSchedule::TimePoint OpenLoopSchedule::due(int64_t n) const {
  // Computed from n, not accumulated, so rounding never drifts the rate.
  auto offset = std::llround(static_cast<double>(n) * 1e9 / rate_);
  return start_ + std::chrono::nanoseconds(offset);
}

void OpenLoopSchedule::advance(TimePoint now, std::vector<Start>& out) {
  for (TimePoint t = due(released_); t <= now; t = due(released_)) {
    ++released_;
    if (in_flight_ < max_in_flight_ && backlog_.empty()) {
      ++in_flight_;
      bool late = now - t > late_slack_;
      if (late) ++late_;
      out.push_back({t, late});
    } else {
      ++late_;
      backlog_.push_back(t);
    }
  }
}

std::optional<OpenLoopSchedule::Start> OpenLoopSchedule::finished() {
  if (!backlog_.empty()) {
    Start s{backlog_.front(), true};
    backlog_.pop_front();
    return s;
  }
  if (in_flight_ > 0) --in_flight_;
  return std::nullopt;
}

}  // namespace fl::load
