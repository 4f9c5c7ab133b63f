// The seeded random number generator every random choice in faultline goes through, so one seed
// reproduces a whole run. xoshiro256** seeded through SplitMix64: fast, small state, good quality.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <string_view>

namespace fl {

class Rng {
 public:
  using result_type = uint64_t;

  explicit Rng(uint64_t seed) noexcept;

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return std::numeric_limits<uint64_t>::max(); }
  result_type operator()() noexcept { return next(); }

  uint64_t next() noexcept;
  // Uniform integer in [lo, hi] (inclusive), without modulo bias. REQUIRES: lo <= hi.
  uint64_t uniform(uint64_t lo, uint64_t hi) noexcept;
  // Uniform double in [0, 1).
  double unit() noexcept;
  // True with probability p.
  bool chance(double p) noexcept { return unit() < p; }

  // An independent generator derived from this one's seed and a stream name, so adding a new
  // consumer of randomness (say, the fault schedule) does not shift the draws of the others.
  Rng fork(std::string_view stream) const noexcept;

  uint64_t seed() const noexcept { return seed_; }

 private:
  uint64_t seed_;
  std::array<uint64_t, 4> s_;
};

// A seed drawn from the operating system, for plans that do not fix one. Print it.
uint64_t random_seed() noexcept;

}  // namespace fl
