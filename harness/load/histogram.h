// A log-linear latency histogram in the manner of HdrHistogram: values below 256 are counted
// exactly, larger ones in buckets whose width is at most 1/128 of their lower bound, so every
// reported value is within 0.8% of a recorded one. Recording is a few integer instructions with
// no allocation; histograms of the same shape merge by adding counts. Not thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>

namespace fl::load {

class Histogram {
 public:
  Histogram();
  Histogram(const Histogram& other);
  Histogram& operator=(const Histogram& other);
  Histogram(Histogram&&) noexcept = default;
  Histogram& operator=(Histogram&&) noexcept = default;
  ~Histogram() = default;

  // Records one value (negative values are recorded as 0).
  void record(int64_t value) noexcept { record_n(value, 1); }
  void record(std::chrono::nanoseconds d) noexcept { record_n(d.count(), 1); }
  void record_n(int64_t value, uint64_t n) noexcept;

  // Adds every count of `other`.
  void merge(const Histogram& other) noexcept;
  void reset() noexcept;

  uint64_t count() const noexcept { return count_; }
  // Exact smallest and largest recorded values; 0 when empty.
  int64_t min() const noexcept { return count_ ? min_ : 0; }
  int64_t max() const noexcept { return count_ ? max_ : 0; }
  double mean() const noexcept;

  // The value at quantile q in [0, 1] (0.99 for p99): the highest value equivalent to the
  // bucket holding that rank, clamped to the exact max. 0 when empty.
  int64_t quantile(double q) const noexcept;
  std::chrono::nanoseconds quantile_ns(double q) const noexcept {
    return std::chrono::nanoseconds(quantile(q));
  }

  // Bucket arithmetic, exposed for tests.
  static constexpr int kSubBits = 7;
  static constexpr int64_t kSub = int64_t{1} << kSubBits;  // 128
  static constexpr size_t kBuckets = static_cast<size_t>((63 - kSubBits) * kSub + kSub);
  static size_t index_of(int64_t value) noexcept;
  static int64_t lowest_of(size_t index) noexcept;
  static int64_t highest_of(size_t index) noexcept;

 private:
  std::unique_ptr<std::array<uint64_t, kBuckets>> counts_;
  uint64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  long double sum_ = 0;
};

}  // namespace fl::load
