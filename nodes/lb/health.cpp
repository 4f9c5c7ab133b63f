#include "nodes/lb/health.h"

#include <algorithm>

namespace fl::lb {

HealthMonitor::HealthMonitor(size_t backends, HealthOptions options, Time now)
    : options_(options), backends_(backends) {
  for (Backend& b : backends_) b.next_probe = now;
}

void HealthMonitor::tick(Time now, std::vector<Probe>& out) {
  for (size_t i = 0; i < backends_.size(); ++i) {
    Backend& b = backends_[i];
    if (b.outstanding != 0 && now >= b.deadline) {
      b.outstanding = 0;
      probe_result(b, false);
    }
    if (b.outstanding == 0 && now >= b.next_probe) {
      b.outstanding = next_id_++;
      b.deadline = now + options_.timeout;
      // Checks keep their cadence from the start of the previous one; a backend whose check
      // outlived the interval is checked again as soon as that check ends.
      b.next_probe = std::max(b.next_probe + options_.interval, now);
      out.push_back({i, b.outstanding});
    }
  }
}

void HealthMonitor::on_probe(size_t backend, uint64_t id, bool ok) {
  Backend& b = backends_[backend];
  if (id == 0 || b.outstanding != id) return;
  b.outstanding = 0;
  probe_result(b, ok);
}

void HealthMonitor::probe_result(Backend& b, bool ok) {
  if (ok) {
    b.probe_failures = 0;
    ++b.probe_successes;
    if (b.state == BackendState::down && b.probe_successes >= options_.rise) {
      set_state(b, BackendState::up, DownReason::none);
    }
  } else {
    b.probe_successes = 0;
    ++b.probe_failures;
    if (b.state == BackendState::up && b.probe_failures >= options_.fall) {
      set_state(b, BackendState::down, DownReason::active);
    }
  }
}

void HealthMonitor::on_request(size_t backend, bool ok) {
  Backend& b = backends_[backend];
  if (b.state != BackendState::up) return;
  if (ok) {
    b.request_failures = 0;
    return;
  }
  ++b.request_failures;
  if (options_.passive_failures > 0 && b.request_failures >= options_.passive_failures) {
    set_state(b, BackendState::down, DownReason::passive);
  }
}

void HealthMonitor::set_state(Backend& b, BackendState s, DownReason why) {
  if (s == BackendState::down) {
    ++b.ejections;
    // Coming back takes `rise` fresh successes, counted from the ejection.
    b.probe_successes = 0;
  } else {
    b.probe_failures = 0;
  }
  b.request_failures = 0;
  b.state = s;
  b.reason = why;
  ++generation_;
}

size_t HealthMonitor::up_count() const {
  return static_cast<size_t>(std::count_if(backends_.begin(), backends_.end(), [](const Backend& b) {
    return b.state == BackendState::up;
  }));
}

Time HealthMonitor::next_due() const {
  Time due = Time::max();
  for (const Backend& b : backends_) due = std::min(due, b.outstanding ? b.deadline : b.next_probe);
  return due;
}

}  // namespace fl::lb
