#include "harness/plan/suggest.h"

#include <algorithm>
#include <vector>

namespace fl::plan {
namespace {

// Optimal string alignment distance: Levenshtein plus transposition of adjacent characters.
size_t edit_distance(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  const size_t m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

}  // namespace

std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string_view> candidates) {
  std::optional<std::string> best;
  size_t best_distance = 3;
  for (auto candidate : candidates) {
    const size_t dist = edit_distance(word, candidate);
    if (dist < best_distance && dist < word.size()) {
      best_distance = dist;
      best = std::string(candidate);
    }
  }
  return best;
}

}  // namespace fl::plan
