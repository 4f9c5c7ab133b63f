#include "harness/load/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace fl::load {

Histogram::Histogram() : counts_(std::make_unique<std::array<uint64_t, kBuckets>>()) {
  counts_->fill(0);
}

Histogram::Histogram(const Histogram& other)
    : counts_(std::make_unique<std::array<uint64_t, kBuckets>>(*other.counts_)),
      count_(other.count_),
      min_(other.min_),
      max_(other.max_),
      sum_(other.sum_) {}

Histogram& Histogram::operator=(const Histogram& other) {
  if (this != &other) {
    if (!counts_) counts_ = std::make_unique<std::array<uint64_t, kBuckets>>();
    *counts_ = *other.counts_;
    count_ = other.count_;
    min_ = other.min_;
    max_ = other.max_;
    sum_ = other.sum_;
  }
  return *this;
}

size_t Histogram::index_of(int64_t value) noexcept {
  auto v = static_cast<uint64_t>(std::max<int64_t>(value, 0));
  if (v < static_cast<uint64_t>(2 * kSub)) return static_cast<size_t>(v);
  int msb = 63 - std::countl_zero(v);
  int shift = msb - kSubBits;
  return static_cast<size_t>(kSub) * static_cast<size_t>(shift) + static_cast<size_t>(v >> shift);
}

int64_t Histogram::lowest_of(size_t index) noexcept {
  if (index < static_cast<size_t>(2 * kSub)) return static_cast<int64_t>(index);
  size_t shift = index / static_cast<size_t>(kSub) - 1;
  uint64_t m = index - static_cast<size_t>(kSub) * shift;
  return static_cast<int64_t>(m << shift);
}

int64_t Histogram::highest_of(size_t index) noexcept {
  if (index < static_cast<size_t>(2 * kSub)) return static_cast<int64_t>(index);
  size_t shift = index / static_cast<size_t>(kSub) - 1;
  uint64_t low = static_cast<uint64_t>(lowest_of(index));
  return static_cast<int64_t>(low + ((uint64_t{1} << shift) - 1));
}

void Histogram::record_n(int64_t value, uint64_t n) noexcept {
  if (n == 0) return;
  value = std::max<int64_t>(value, 0);
  (*counts_)[index_of(value)] += n;
  if (count_ == 0) {
    min_ = max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  count_ += n;
  sum_ += static_cast<long double>(value) * static_cast<long double>(n);
}

void Histogram::merge(const Histogram& other) noexcept {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < kBuckets; ++i) (*counts_)[i] += (*other.counts_)[i];
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  sum_ += other.sum_;
}

void Histogram::reset() noexcept {
  counts_->fill(0);
  count_ = 0;
  min_ = max_ = 0;
  sum_ = 0;
}

double Histogram::mean() const noexcept {
  return count_ ? static_cast<double>(sum_ / static_cast<long double>(count_)) : 0.0;
}

int64_t Histogram::quantile(double q) const noexcept {
  if (count_ == 0) return 0;
  if (!(q > 0)) return min_;
  if (q >= 1) return max_;
  auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += (*counts_)[i];
    if (seen >= rank) return std::clamp(highest_of(i), min_, max_);
  }
  return max_;
}

}  // namespace fl::load
