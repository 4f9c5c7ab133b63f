#include "nodes/lb/ring_change.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdint>

#include "common/hash_ring.h"

namespace fl::lb {
namespace {

struct Point {
  uint64_t hash;
  uint32_t member;  // index into the ring's own member list (tie order, as HashRing sorts)
};

// The points of HashRing(members, vnodes), in HashRing's order. HashRing names its points
// "<member>#<v>"; ring_change_test checks that owners computed here agree with HashRing::owner.
std::vector<Point> points_of(const std::vector<std::string>& members, int vnodes) {
  std::vector<Point> points;
  points.reserve(members.size() * static_cast<size_t>(vnodes));
  for (size_t m = 0; m < members.size(); ++m) {
    for (int v = 0; v < vnodes; ++v) {
      points.push_back({ring_hash(fmt::format("{}#{}", members[m], v)), static_cast<uint32_t>(m)});
    }
  }
  std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.member < b.member;
  });
  return points;
}

}  // namespace

double ring_moved_share(const std::vector<std::string>& before,
                        const std::vector<std::string>& after, int vnodes) {
  if (before.empty() && after.empty()) return 0.0;
  if (before.empty() || after.empty()) return 1.0;
  const std::vector<Point> a = points_of(before, vnodes);
  const std::vector<Point> b = points_of(after, vnodes);

  // Every point of either ring bounds an arc (prev, u] on which both rings have one owner each:
  // the owner of their first point at or after u. The first arc wraps around zero.
  std::vector<uint64_t> bounds;
  bounds.reserve(a.size() + b.size());
  for (const Point& p : a) bounds.push_back(p.hash);
  for (const Point& p : b) bounds.push_back(p.hash);
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());

  // The moved length as hi * 2^64 + lo: all of it may have moved, which is 2^64 itself.
  uint64_t moved_lo = 0, moved_hi = 0;
  size_t ia = 0, ib = 0;
  for (size_t k = 0; k < bounds.size(); ++k) {
    const uint64_t u = bounds[k];
    while (ia < a.size() && a[ia].hash < u) ++ia;
    while (ib < b.size() && b[ib].hash < u) ++ib;
    const std::string& owner_a = before[a[ia == a.size() ? 0 : ia].member];
    const std::string& owner_b = after[b[ib == b.size() ? 0 : ib].member];
    if (owner_a == owner_b) continue;
    // A single bound's arc is the whole ring.
    if (bounds.size() == 1) return 1.0;
    // Arc length; the first arc wraps: (last, 2^64) + [0, u], which is u - last modulo 2^64.
    const uint64_t len = u - (k == 0 ? bounds.back() : bounds[k - 1]);
    moved_lo += len;
    if (moved_lo < len) ++moved_hi;
  }
  return static_cast<double>(static_cast<long double>(moved_hi) +
                             static_cast<long double>(moved_lo) / 18446744073709551616.0L);
}

}  // namespace fl::lb
