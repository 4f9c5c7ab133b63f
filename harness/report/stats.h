// Two-sample statistics for `faultline compare` (docs/gating.md): the Mann-Whitney U test over
// repetitions of a run, and effect sizes that say how large a difference is, not only whether
// it is there. Pure functions of their inputs.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

namespace fl::report {

// What the test asks of sample x against sample y: x tends to be smaller (`less`), larger
// (`greater`), or either (`two_sided`).
enum class Alternative { less, greater, two_sided };

enum class MwuMethod {
  // Exact when the two samples together have at most kExactMwuLimit values, else normal.
  automatic,
  // The exact permutation distribution of the rank sum, midranks for ties (a conditional
  // test: exact with and without ties).
  exact,
  // The normal approximation with the tie correction of the variance and a continuity
  // correction of 1/2.
  normal,
};

// Up to this many values in both samples together the automatic method is exact.
inline constexpr size_t kExactMwuLimit = 60;

struct MannWhitney {
  // U of x: the pairs (x_i, y_j) with x_i > y_j, a tie counting 1/2. 0 <= u <= n1 * n2.
  double u = 0;
  double p = 1;        // the p-value for the alternative asked
  bool exact = false;  // which method gave p
  double z = 0;        // the normal approximation's statistic (continuity-corrected); 0 if exact
};

// REQUIRES: x and y non-empty, every value finite.
MannWhitney mann_whitney_u(std::span<const double> x, std::span<const double> y, Alternative alt,
                           MwuMethod method = MwuMethod::automatic);

// The smallest p-value the exact test can give for samples of n1 and n2 values (reached when
// they do not overlap at all, without ties): 1 / C(n1 + n2, n1) one-sided, twice that
// two-sided. With so few values that this is not below alpha, no data can show a difference.
double min_p_value(size_t n1, size_t n2, Alternative alt);
// The smallest k for which k against k repetitions can reach p < alpha.
size_t repetitions_needed(double alpha, Alternative alt);

// REQUIRES: v non-empty.
double median(std::vector<double> v);
// Cliff's delta: P(x > y) - P(x < y) over all pairs, in [-1, 1]; equal to the rank-biserial
// correlation 2U / (n1 n2) - 1. 0 when the samples are interleaved evenly, 1 when every x is
// above every y.
double cliffs_delta(std::span<const double> x, std::span<const double> y);
// "negligible" (|d| < 0.147), "small" (< 0.33), "medium" (< 0.474) or "large" (Romano et al.).
std::string_view cliffs_magnitude(double delta);
// The Hodges-Lehmann estimate of the shift from y to x: the median of every x_i - y_j.
double hodges_lehmann(std::span<const double> x, std::span<const double> y);

}  // namespace fl::report
