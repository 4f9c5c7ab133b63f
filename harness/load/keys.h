// Key distributions: which of `n` keys (indices 0 .. n-1) an operation acts on. Every draw comes
// from the fl::Rng passed in, so one seed gives one sequence of keys.
#pragma once

#include <cstdint>
#include <memory>

#include "common/error.h"
#include "common/rng.h"
#include "harness/plan/plan.h"

namespace fl::load {

// Zipf's law over 1 .. n with exponent s > 0, by Hörmann and Derflinger's rejection-inversion
// ("Rejection-inversion to generate variates from monotone discrete distributions", 1996): O(1)
// setup and O(1) expected time per draw for any n, unlike YCSB's zeta table.
class ZipfSampler {
 public:
  // REQUIRES: n >= 1, s > 0.
  ZipfSampler(uint64_t n, double s);
  // A value in [1, n]; P(k) is proportional to 1 / k^s.
  uint64_t sample(Rng& rng) const;

 private:
  double h(double x) const;
  double h_integral(double x) const;
  double h_integral_inverse(double x) const;

  uint64_t n_;
  double s_;
  double h_integral_x1_;
  double h_integral_n_;
  double threshold_;
};

class KeyChooser {
 public:
  virtual ~KeyChooser() = default;
  // The key index for an operation; `write` matters to `latest`, where writes go to the next
  // key in turn (YCSB's inserts) and reads favour the keys written most recently.
  virtual uint64_t next(Rng& rng, bool write) = 0;
};

// `sequential`: a scan over the n keys in order, cycling (0, 1, .., n-1, 0, ..); ignores the rng.
std::unique_ptr<KeyChooser> make_sequential_keys(uint64_t n);

// The chooser the spec's distribution names, over spec.keys keys.
// REQUIRES: the spec passed validate() (keys >= 1, skew > 0, 0 < hot fractions <= 1).
std::unique_ptr<KeyChooser> make_key_chooser(const plan::WorkloadSpec& spec);

}  // namespace fl::load
