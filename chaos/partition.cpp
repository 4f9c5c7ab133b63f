#include "chaos/partition.h"

#include <fmt/core.h>

#include <algorithm>
#include <set>

namespace fl::chaos {
namespace {

using plan::PartitionShape;

void cut_both(const std::vector<std::string>& a, const std::vector<std::string>& b,
              std::vector<Cut>& out) {
  for (const auto& x : a) {
    for (const auto& y : b) {
      if (x == y) continue;
      out.push_back({x, y});
      out.push_back({y, x});
    }
  }
}

Error bad(std::string message) { return Error(errc::invalid_argument, std::move(message)); }

// The distinct entries of `v` in their first order.
std::vector<std::string> distinct(const std::vector<std::string>& v) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& s : v) {
    if (seen.insert(s).second) out.push_back(s);
  }
  return out;
}

result<void> need(const std::vector<std::string>& nodes, size_t least, PartitionShape shape) {
  if (nodes.size() >= least) return {};
  return bad(fmt::format("shape \"{}\" needs at least {} nodes to divide, got {}",
                         plan::to_string(shape), least, nodes.size()));
}

void halves(const std::vector<std::string>& nodes, std::vector<Cut>& out) {
  const auto mid = nodes.begin() + static_cast<std::ptrdiff_t>(nodes.size() / 2);
  cut_both({nodes.begin(), mid}, {mid, nodes.end()}, out);
}

}  // namespace

result<std::vector<Cut>> partition_cuts(const PartitionInput& in, Rng& rng) {
  std::vector<Cut> out;
  std::vector<std::string> nodes = distinct(in.nodes);
  switch (in.shape) {
    case PartitionShape::isolate: {
      const auto from = distinct(in.from);
      std::vector<std::string> rest;
      for (const auto& n : nodes) {
        if (std::find(from.begin(), from.end(), n) == from.end()) rest.push_back(n);
      }
      if (from.empty() || rest.empty()) {
        return bad(fmt::format("shape \"isolate\" needs a node to cut off and another to cut it "
                               "from, got {} and {}",
                               from.size(), rest.size()));
      }
      cut_both(from, rest, out);
      break;
    }
    case PartitionShape::random_halves:
      // Fisher-Yates with the fault's own generator, so the same seed draws the same halves.
      for (size_t i = nodes.size(); i > 1; --i) {
        std::swap(nodes[i - 1], nodes[rng.uniform(0, i - 1)]);
      }
      [[fallthrough]];
    case PartitionShape::halves: {
      if (auto r = need(nodes, 2, in.shape); !r) return r.error();
      halves(nodes, out);
      break;
    }
    case PartitionShape::bridge: {
      if (auto r = need(nodes, 3, in.shape); !r) return r.error();
      const size_t b = (nodes.size() - 1) / 2;
      cut_both({nodes.begin(), nodes.begin() + static_cast<std::ptrdiff_t>(b)},
               {nodes.begin() + static_cast<std::ptrdiff_t>(b) + 1, nodes.end()}, out);
      break;
    }
    case PartitionShape::majorities_ring: {
      if (auto r = need(nodes, 3, in.shape); !r) return r.error();
      const size_t n = nodes.size();
      const size_t m = n / 2 + 1;          // a majority, counting the node itself
      const size_t before = (m - 1) / 2;   // neighbours heard on each side of the ring
      const size_t after = m - 1 - before;
      for (size_t i = 0; i < n; ++i) {
        // Node i hears i - before .. i + after (mod n); everything else is cut towards it.
        for (size_t k = after + 1; k < n - before; ++k) {
          out.push_back({nodes[(i + k) % n], nodes[i]});
        }
      }
      break;
    }
    case PartitionShape::primaries: {
      const auto primaries = distinct(in.primaries);
      if (primaries.empty()) return bad("shape \"primaries\" found no primary to cut off");
      std::vector<std::string> all = primaries;
      all.insert(all.end(), nodes.begin(), nodes.end());
      all = distinct(all);
      if (all.size() < 2) return bad("shape \"primaries\" needs a node besides the primary");
      for (const auto& p : primaries) cut_both({p}, all, out);
      break;
    }
    case PartitionShape::groups: {
      std::vector<std::vector<std::string>> groups;
      std::set<std::string> seen;
      for (const auto& g : in.groups) {
        auto members = distinct(g);
        for (const auto& m : members) {
          if (!seen.insert(m).second) {
            return bad(fmt::format("shape \"groups\": node '{}' is in two groups", m));
          }
        }
        if (!members.empty()) groups.push_back(std::move(members));
      }
      if (groups.size() < 2) return bad("shape \"groups\" needs at least two non-empty groups");
      for (size_t a = 0; a < groups.size(); ++a) {
        for (size_t b = a + 1; b < groups.size(); ++b) cut_both(groups[a], groups[b], out);
      }
      break;
    }
    case PartitionShape::one_way: {
      for (const auto& f : distinct(in.from)) {
        for (const auto& t : distinct(in.to)) {
          if (f != t) out.push_back({f, t});
        }
      }
      if (out.empty()) {
        return bad(fmt::format("shape \"one-way\" needs a node that cannot reach another, got {} "
                               "and {} node(s)",
                               in.from.size(), in.to.size()));
      }
      break;
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace fl::chaos
