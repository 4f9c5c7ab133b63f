#include "nodes/cache/frequency_sketch.h"

#include <algorithm>

namespace fl::cache {
namespace {

constexpr int kRows = 4;
constexpr uint8_t kMax = 15;

uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

size_t pow2_at_least(size_t n) {
  size_t p = 64;
  while (p < n) p <<= 1;
  return p;
}

}  // namespace

FrequencySketch::FrequencySketch(size_t expected_keys) { ensure_capacity(expected_keys); }

void FrequencySketch::ensure_capacity(size_t keys) {
  const size_t want = pow2_at_least(keys);
  if (want <= width_) return;
  width_ = want;
  counters_.assign(width_ * kRows, 0);
  additions_ = 0;
}

size_t FrequencySketch::index(uint64_t hash, int row) const {
  const uint64_t h = mix(hash + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(row + 1));
  return static_cast<size_t>(row) * width_ + (h & (width_ - 1));
}

void FrequencySketch::add(uint64_t hash) {
  // Conservative update: raise only the smallest counters, which keeps estimates tighter.
  const unsigned current = estimate(hash);
  if (current < kMax) {
    for (int r = 0; r < kRows; ++r) {
      uint8_t& c = counters_[index(hash, r)];
      if (c == current) ++c;
    }
  }
  if (++additions_ >= 10 * width_) reset();
}

unsigned FrequencySketch::estimate(uint64_t hash) const {
  unsigned m = kMax;
  for (int r = 0; r < kRows; ++r) m = std::min<unsigned>(m, counters_[index(hash, r)]);
  return m;
}

void FrequencySketch::reset() {
  for (uint8_t& c : counters_) c = static_cast<uint8_t>(c >> 1);
  additions_ /= 2;
}

}  // namespace fl::cache
