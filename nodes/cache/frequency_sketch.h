// TinyLFU's frequency estimate: a count-min sketch of 4-bit counters (4 rows) with periodic
// halving, so it estimates how often a key was seen recently in O(1) time and a few bytes per
// tracked key.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fl::cache {

class FrequencySketch {
 public:
  // Sized for about `expected_keys` distinct keys (at least 64).
  explicit FrequencySketch(size_t expected_keys);

  // Counts one occurrence of the key with this hash. After 10x the width in additions every
  // counter is halved (aging), so old popularity fades.
  void add(uint64_t hash);
  // The estimated recent count (0..15) of the key with this hash.
  unsigned estimate(uint64_t hash) const;
  // Grows the sketch (clearing it) when the cache holds more keys than it was sized for.
  void ensure_capacity(size_t keys);

  size_t width() const { return width_; }

 private:
  size_t index(uint64_t hash, int row) const;
  void reset();

  size_t width_ = 0;  // counters per row, a power of two
  std::vector<uint8_t> counters_;
  uint64_t additions_ = 0;
};

}  // namespace fl::cache
