// A log-linear latency histogram (8 sub-buckets per power of two, so quantiles are within
// 12.5%): constant memory, O(1) record, for the per-backend latency quantiles of INFO.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace fl::lb {

class LatencyHistogram {
 public:
  void record(uint64_t micros) {
    ++counts_[index(micros)];
    ++total_;
  }
  uint64_t count() const { return total_; }

  // The q-quantile (0 < q <= 1) in microseconds: the upper bound of the bucket that holds it;
  // 0 when nothing was recorded.
  uint64_t quantile(double q) const {
    if (total_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total_) + 0.5);
    if (rank < 1) rank = 1;
    if (rank > total_) rank = total_;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return upper_bound(i);
    }
    return upper_bound(kBuckets - 1);
  }

  static size_t index(uint64_t v) {
    if (v < 16) return static_cast<size_t>(v);
    const int e = std::bit_width(v) - 1;  // 4..63
    return 16 + static_cast<size_t>(e - 4) * 8 + static_cast<size_t>((v >> (e - 3)) & 7);
  }
  // The largest value that falls in bucket i.
  static uint64_t upper_bound(size_t i) {
    if (i < 16) return i;
    const int e = static_cast<int>((i - 16) / 8) + 4;
    const uint64_t sub = (i - 16) % 8;
    const uint64_t low = (uint64_t{8} + sub) << (e - 3);
    return low + (uint64_t{1} << (e - 3)) - 1;
  }

 private:
  static constexpr size_t kBuckets = 16 + 60 * 8;
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
};

}  // namespace fl::lb
