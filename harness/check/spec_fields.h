// The [[check]] fields the staleness, convergence and stat checkers read, taken from
// plan::CheckSpec when it has them (the plan piece adds them; see docs/checkers.md) and their
// defaults otherwise, so this piece builds on either side of that change.
#pragma once

#include <optional>
#include <string>

#include "common/units.h"
#include "harness/plan/plan.h"

namespace fl::check {

using namespace std::chrono_literals;

template <class S = plan::CheckSpec>
std::optional<double> spec_max_stale_ratio(const S& s) {
  if constexpr (requires { s.max_stale_ratio; }) {
    return std::optional<double>(s.max_stale_ratio);
  } else {
    return std::nullopt;
  }
}

template <class S = plan::CheckSpec>
std::optional<Duration> spec_max_staleness(const S& s) {
  if constexpr (requires { s.max_staleness; }) {
    return std::optional<Duration>(s.max_staleness);
  } else if constexpr (requires { s.max_stale; }) {
    return std::optional<Duration>(s.max_stale);
  } else {
    return std::nullopt;
  }
}

// convergence: the quiet period before collecting, and how long caches may take to agree.
template <class S = plan::CheckSpec>
Duration spec_quiet(const S& s) {
  if constexpr (requires { s.quiet; }) {
    return Duration(s.quiet);
  } else {
    return 1s;
  }
}

template <class S = plan::CheckSpec>
Duration spec_deadline(const S& s) {
  if constexpr (requires { s.deadline; }) {
    return Duration(s.deadline);
  } else {
    return 5s;
  }
}

struct StatFields {
  std::string group;
  std::string stat;
  std::optional<double> min, max;
  std::string aggregate = "sum";
};

template <class S = plan::CheckSpec>
StatFields spec_stat(const S& s) {
  StatFields f;
  if constexpr (requires { s.group; s.stat; }) {
    f.group = s.group;
    f.stat = s.stat;
  }
  if constexpr (requires { s.min; s.max; }) {
    f.min = std::optional<double>(s.min);
    f.max = std::optional<double>(s.max);
  }
  if constexpr (requires { s.aggregate; }) {
    if (!std::string(s.aggregate).empty()) f.aggregate = s.aggregate;
  }
  return f;
}

}  // namespace fl::check
