#include "harness/report/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <utility>

namespace fl::report {
namespace {

struct Ranked {
  // Twice each value's midrank (an integer: a tie group over 1-based positions i..j has midrank
  // (i + j) / 2), x's first, then y's.
  std::vector<int64_t> doubled_rank;
  // Sum over tie groups of t^3 - t, for the variance's tie correction.
  double tie_term = 0;
  bool ties = false;
};

Ranked rank(std::span<const double> x, std::span<const double> y) {
  const size_t n = x.size() + y.size();
  std::vector<std::pair<double, size_t>> all;
  all.reserve(n);
  for (size_t i = 0; i < x.size(); ++i) all.emplace_back(x[i], i);
  for (size_t i = 0; i < y.size(); ++i) all.emplace_back(y[i], x.size() + i);
  std::sort(all.begin(), all.end());
  Ranked r;
  r.doubled_rank.resize(n);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && all[j + 1].first == all[i].first) ++j;
    // Positions i+1 .. j+1 (1-based).
    const auto doubled = static_cast<int64_t>(i + 1 + j + 1);
    for (size_t k = i; k <= j; ++k) r.doubled_rank[all[k].second] = doubled;
    const auto t = static_cast<double>(j - i + 1);
    if (t > 1) {
      r.ties = true;
      r.tie_term += t * t * t - t;
    }
    i = j + 1;
  }
  return r;
}

// P(S <= s) and P(S >= s) for the doubled rank sum S of a random `k`-subset of `ranks`, s the
// observed doubled rank sum of the first k entries.
std::pair<double, double> exact_tails(const std::vector<int64_t>& ranks, size_t k) {
  const int64_t observed =
      std::accumulate(ranks.begin(), ranks.begin() + static_cast<long>(k), int64_t{0});
  std::vector<int64_t> sorted = ranks;
  std::sort(sorted.rbegin(), sorted.rend());
  const int64_t max_sum =
      std::accumulate(sorted.begin(), sorted.begin() + static_cast<long>(k), int64_t{0});
  const auto width = static_cast<size_t>(max_sum) + 1;
  // ways[j * width + s]: subsets of j of the ranks seen so far with doubled sum s. Counts grow
  // to C(n, k), beyond 2^53 for large n: doubles keep their ratio to ~1e-15, which is all a
  // p-value needs.
  std::vector<double> ways((k + 1) * width, 0.0);
  ways[0] = 1;
  size_t seen = 0;
  for (int64_t r : ranks) {
    ++seen;
    const auto step = static_cast<size_t>(r);
    for (size_t j = std::min(seen, k); j >= 1; --j) {
      double* to = &ways[j * width];
      const double* from = &ways[(j - 1) * width];
      for (size_t s = width - 1; s >= step; --s) {
        to[s] += from[s - step];
        if (s == step) break;
      }
    }
  }
  const double* dist = &ways[k * width];
  double total = 0, at_most = 0, at_least = 0;
  for (size_t s = 0; s < width; ++s) {
    total += dist[s];
    if (static_cast<int64_t>(s) <= observed) at_most += dist[s];
    if (static_cast<int64_t>(s) >= observed) at_least += dist[s];
  }
  return {at_most / total, at_least / total};
}

double normal_upper(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

}  // namespace

MannWhitney mann_whitney_u(std::span<const double> x, std::span<const double> y, Alternative alt,
                           MwuMethod method) {
  const double n1 = static_cast<double>(x.size());
  const double n2 = static_cast<double>(y.size());
  const double n = n1 + n2;
  const Ranked r = rank(x, y);
  double doubled_sum_x = 0;
  for (size_t i = 0; i < x.size(); ++i) doubled_sum_x += static_cast<double>(r.doubled_rank[i]);
  MannWhitney out;
  out.u = doubled_sum_x / 2 - n1 * (n1 + 1) / 2;

  const bool exact = method == MwuMethod::exact ||
                     (method == MwuMethod::automatic && x.size() + y.size() <= kExactMwuLimit);
  if (exact) {
    out.exact = true;
    // The distribution of the smaller sample's rank sum is the cheaper one to build.
    double p_less = 0, p_greater = 0;
    if (x.size() <= y.size()) {
      auto [at_most, at_least] = exact_tails(r.doubled_rank, x.size());
      p_less = at_most;
      p_greater = at_least;
    } else {
      std::vector<int64_t> y_first(r.doubled_rank.begin() + static_cast<long>(x.size()),
                                   r.doubled_rank.end());
      y_first.insert(y_first.end(), r.doubled_rank.begin(),
                     r.doubled_rank.begin() + static_cast<long>(x.size()));
      auto [at_most, at_least] = exact_tails(y_first, y.size());
      // A small rank sum of y is a large one of x.
      p_less = at_least;
      p_greater = at_most;
    }
    switch (alt) {
      case Alternative::less:
        out.p = p_less;
        break;
      case Alternative::greater:
        out.p = p_greater;
        break;
      // Doubling the smaller tail is a convention, not an exact two-sided p-value: with ties
      // the midrank permutation distribution need not be symmetric. `faultline compare` uses
      // only the one-sided tests.
      case Alternative::two_sided:
        out.p = std::min(1.0, 2 * std::min(p_less, p_greater));
        break;
    }
    out.p = std::min(out.p, 1.0);
    return out;
  }

  const double mu = n1 * n2 / 2;
  const double variance = n1 * n2 / 12 * ((n + 1) - r.tie_term / (n * (n - 1)));
  if (variance <= 0) {  // every value the same: no evidence either way
    out.p = 1;
    return out;
  }
  const double sigma = std::sqrt(variance);
  switch (alt) {
    case Alternative::greater:
      out.z = (out.u - mu - 0.5) / sigma;
      out.p = normal_upper(out.z);
      break;
    case Alternative::less:
      out.z = (out.u - mu + 0.5) / sigma;
      out.p = 1 - normal_upper(out.z);
      break;
    case Alternative::two_sided:
      out.z = std::max(0.0, std::abs(out.u - mu) - 0.5) / sigma;
      out.p = std::min(1.0, 2 * normal_upper(out.z));
      break;
  }
  return out;
}

double min_p_value(size_t n1, size_t n2, Alternative alt) {
  if (n1 == 0 || n2 == 0) return 1;
  // C(n1 + n2, n1) as a product of ratios, exact enough in a double for any realistic n.
  double combinations = 1;
  const size_t k = std::min(n1, n2);
  for (size_t i = 1; i <= k; ++i) {
    combinations = combinations * static_cast<double>(n1 + n2 - k + i) / static_cast<double>(i);
  }
  const double one_sided = 1 / combinations;
  return alt == Alternative::two_sided ? std::min(1.0, 2 * one_sided) : one_sided;
}

size_t repetitions_needed(double alpha, Alternative alt) {
  size_t k = 1;
  while (k < 1000 && min_p_value(k, k, alt) >= alpha) ++k;
  return k;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double cliffs_delta(std::span<const double> x, std::span<const double> y) {
  double above = 0, below = 0;
  for (double a : x) {
    for (double b : y) {
      if (a > b) ++above;
      if (a < b) ++below;
    }
  }
  return (above - below) / (static_cast<double>(x.size()) * static_cast<double>(y.size()));
}

std::string_view cliffs_magnitude(double delta) {
  const double d = std::abs(delta);
  if (d < 0.147) return "negligible";
  if (d < 0.33) return "small";
  if (d < 0.474) return "medium";
  return "large";
}

double hodges_lehmann(std::span<const double> x, std::span<const double> y) {
  std::vector<double> diffs;
  diffs.reserve(x.size() * y.size());
  for (double a : x) {
    for (double b : y) diffs.push_back(a - b);
  }
  return median(std::move(diffs));
}

}  // namespace fl::report
