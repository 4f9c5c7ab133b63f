// The pure half of the fault schedule: when each [[fault]] fires and how many of its candidate
// nodes it takes. Everything is drawn from the run's seed before the run starts (roles are the
// only thing resolved when a fault fires), so one seed gives one fault sequence.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/rng.h"
#include "common/units.h"
#include "harness/plan/plan.h"

namespace fl::chaos {

// The generator of fault `index` of a run with `seed`: Rng(seed).fork("faults").fork("<index>").
// Each fault has its own stream, so adding a fault does not move the draws of the others.
Rng fault_rng(uint64_t seed, size_t index);

// The times `fault` fires, counted from the start of the main phase, ascending, each in
// [0, main):
//   at       its listed times (those at or after `main`, as with a shortened --duration, are
//            left out)
//   every    start, start + every, ... before stop (default and at most `main`), each moved by
//            a uniform draw in [-jitter, +jitter] and kept inside [start, stop)
//   poisson  exponential gaps of mean 1 / rate from start, before stop (at most 100000)
// Draws from `rng` in a fixed order (one jitter per period; one gap per firing).
std::vector<Duration> fire_times(const plan::FaultSpec& fault, Duration main, Rng& rng);

// How many of `n` candidates a select mode takes: all n; one 1; minority floor((n-1)/2) and at
// least 1; majority floor(n/2)+1; percent ceil(n * percent / 100), at least 1. Never more than
// n; 0 when n is 0.
size_t select_count(plan::SelectMode mode, double percent, size_t n);

// Draws select_count() of `candidates` with `rng` (all of them without a draw for mode all),
// returned in their given order.
std::vector<std::string> select_nodes(const std::vector<std::string>& candidates,
                                      plan::SelectMode mode, double percent, Rng& rng);

}  // namespace fl::chaos
