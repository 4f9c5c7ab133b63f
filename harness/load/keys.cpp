#include "harness/load/keys.h"

#include <algorithm>
#include <cmath>

namespace fl::load {
namespace {

// log1p(x)/x and expm1(x)/x, with their Taylor series near 0 where the quotient loses precision.
double helper1(double x) {
  if (std::abs(x) > 1e-8) return std::log1p(x) / x;
  return 1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
}
double helper2(double x) {
  if (std::abs(x) > 1e-8) return std::expm1(x) / x;
  return 1 + x * 0.5 * (1 + x * (1.0 / 3) * (1 + 0.25 * x));
}

class UniformKeys final : public KeyChooser {
 public:
  explicit UniformKeys(uint64_t n) : n_(n) {}
  uint64_t next(Rng& rng, bool) override { return rng.uniform(0, n_ - 1); }

 private:
  uint64_t n_;
};

class ZipfianKeys final : public KeyChooser {
 public:
  ZipfianKeys(uint64_t n, double s) : zipf_(n, s) {}
  uint64_t next(Rng& rng, bool) override { return zipf_.sample(rng) - 1; }

 private:
  ZipfSampler zipf_;
};

// YCSB's "latest" over a fixed key space: writes take the keys in turn, as inserts would, and
// reads go `zipf - 1` keys back from the last one written.
class LatestKeys final : public KeyChooser {
 public:
  LatestKeys(uint64_t n, double s) : n_(n), zipf_(n, s) {}
  uint64_t next(Rng& rng, bool write) override {
    if (write) {
      latest_ = (latest_ + 1) % n_;
      return latest_;
    }
    uint64_t back = zipf_.sample(rng) - 1;
    return (latest_ + n_ - back) % n_;
  }

 private:
  uint64_t n_;
  ZipfSampler zipf_;
  uint64_t latest_ = 0;
};

class HotspotKeys final : public KeyChooser {
 public:
  HotspotKeys(uint64_t n, double hot_keys, double hot_ops)
      : n_(n),
        hot_(std::clamp<uint64_t>(
            static_cast<uint64_t>(std::llround(hot_keys * static_cast<double>(n))), 1, n)),
        hot_ops_(hot_ops) {}
  uint64_t next(Rng& rng, bool) override {
    if (hot_ == n_ || rng.chance(hot_ops_)) return rng.uniform(0, hot_ - 1);
    return rng.uniform(hot_, n_ - 1);
  }

 private:
  uint64_t n_;
  uint64_t hot_;
  double hot_ops_;
};

// A scan: keys 0, 1, .., n-1 in order, then again from 0. One cursor per chooser, so the
// workload's processes together walk the keys in order (the pattern that flushes an LRU cache).
class SequentialKeys final : public KeyChooser {
 public:
  explicit SequentialKeys(uint64_t n) : n_(n) {}
  uint64_t next(Rng&, bool) override {
    uint64_t k = next_;
    next_ = (next_ + 1) % n_;
    return k;
  }

 private:
  uint64_t n_;
  uint64_t next_ = 0;
};

// The plan names the `sequential` distribution once its enum has the value; until then (and on
// any other value) nullptr.
template <class E>
std::unique_ptr<KeyChooser> sequential_if_named(E d, uint64_t n) {
  if constexpr (requires { E::sequential; }) {
    if (d == E::sequential) return make_sequential_keys(n);
  }
  return nullptr;
}

}  // namespace

std::unique_ptr<KeyChooser> make_sequential_keys(uint64_t n) {
  return std::make_unique<SequentialKeys>(std::max<uint64_t>(n, 1));
}

ZipfSampler::ZipfSampler(uint64_t n, double s) : n_(n), s_(s) {
  h_integral_x1_ = h_integral(1.5) - 1;
  h_integral_n_ = h_integral(static_cast<double>(n_) + 0.5);
  threshold_ = 2 - h_integral_inverse(h_integral(2.5) - h(2));
}

double ZipfSampler::h(double x) const { return std::exp(-s_ * std::log(x)); }

double ZipfSampler::h_integral(double x) const {
  double log_x = std::log(x);
  return helper2((1 - s_) * log_x) * log_x;
}

double ZipfSampler::h_integral_inverse(double x) const {
  double t = x * (1 - s_);
  if (t < -1) t = -1;  // rounding can push t just below -1, where log1p is undefined
  return std::exp(helper1(t) * x);
}

uint64_t ZipfSampler::sample(Rng& rng) const {
  for (;;) {
    double u = h_integral_n_ + rng.unit() * (h_integral_x1_ - h_integral_n_);
    double x = h_integral_inverse(u);
    double k_real = std::floor(x + 0.5);
    uint64_t k;
    if (!(k_real >= 1)) {
      k = 1;
    } else if (k_real >= static_cast<double>(n_)) {
      k = n_;
    } else {
      k = static_cast<uint64_t>(k_real);
    }
    double kd = static_cast<double>(k);
    if (kd - x <= threshold_ || u >= h_integral(kd + 0.5) - h(kd)) return k;
  }
}

std::unique_ptr<KeyChooser> make_key_chooser(const plan::WorkloadSpec& spec) {
  auto n = static_cast<uint64_t>(std::max(spec.keys, 1));
  if (auto seq = sequential_if_named(spec.distribution, n)) return seq;
  switch (spec.distribution) {
    case plan::KeyDistribution::uniform:
      return std::make_unique<UniformKeys>(n);
    case plan::KeyDistribution::zipfian:
      return std::make_unique<ZipfianKeys>(n, spec.skew);
    case plan::KeyDistribution::latest:
      return std::make_unique<LatestKeys>(n, spec.skew);
    case plan::KeyDistribution::hotspot:
      return std::make_unique<HotspotKeys>(n, spec.hot_keys, spec.hot_ops);
    default:  // sequential, above
      break;
  }
  return std::make_unique<UniformKeys>(n);
}

}  // namespace fl::load
