#include "chaos/partition.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

// Inputs are written with designated initializers naming only the fields a shape reads.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace fl::chaos {
namespace {

using plan::PartitionShape;
using Nodes = std::vector<std::string>;

Nodes names(size_t n) {
  Nodes out;
  for (size_t i = 0; i < n; ++i) out.push_back("n" + std::to_string(i));
  return out;
}

std::vector<Cut> cuts(const PartitionInput& in, uint64_t seed = 1) {
  Rng rng(seed);
  auto r = partition_cuts(in, rng);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  if (!r) return {};
  // Sorted, no duplicates, no node cut from itself.
  EXPECT_TRUE(std::is_sorted(r->begin(), r->end()));
  EXPECT_EQ(std::adjacent_find(r->begin(), r->end()), r->end());
  for (const auto& c : *r) EXPECT_NE(c.from, c.to);
  return *r;
}

bool reaches(const std::vector<Cut>& cuts, const std::string& a, const std::string& b) {
  return a == b || !std::binary_search(cuts.begin(), cuts.end(), Cut{a, b});
}

// The nodes of `universe` that `a` reaches.
std::set<std::string> reached_by(const std::vector<Cut>& cuts, const Nodes& universe,
                                 const std::string& a) {
  std::set<std::string> out;
  for (const auto& b : universe) {
    if (reaches(cuts, a, b)) out.insert(b);
  }
  return out;
}

TEST(Partition, HalvesReachExactlyTheirOwnSide) {
  for (size_t n : {2u, 3u, 5u, 6u}) {
    const Nodes nodes = names(n);
    const auto c = cuts({.shape = PartitionShape::halves, .nodes = nodes});
    const Nodes first(nodes.begin(), nodes.begin() + static_cast<std::ptrdiff_t>(n / 2));
    const Nodes second(nodes.begin() + static_cast<std::ptrdiff_t>(n / 2), nodes.end());
    for (const auto& a : nodes) {
      const bool in_first = std::count(first.begin(), first.end(), a) > 0;
      const Nodes& side = in_first ? first : second;
      EXPECT_EQ(reached_by(c, nodes, a), std::set<std::string>(side.begin(), side.end())) << a;
    }
    EXPECT_EQ(c.size(), 2 * first.size() * second.size());
  }
}

TEST(Partition, RandomHalvesAreHalvesDrawnFromTheSeed) {
  const Nodes nodes = names(7);
  PartitionInput in{.shape = PartitionShape::random_halves, .nodes = nodes};
  std::set<std::set<std::string>> sides_seen;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const auto c = cuts(in, seed);
    EXPECT_EQ(c, cuts(in, seed)) << "the same seed draws the same halves";
    // Every node reaches exactly its side: 3 or 4 nodes, and the sides split the seven.
    std::set<std::set<std::string>> sides;
    for (const auto& a : nodes) sides.insert(reached_by(c, nodes, a));
    ASSERT_EQ(sides.size(), 2u);
    EXPECT_EQ(sides.begin()->size() + std::next(sides.begin())->size(), 7u);
    for (const auto& s : sides) sides_seen.insert(s);
  }
  EXPECT_GT(sides_seen.size(), 4u) << "different seeds draw different halves";
}

TEST(Partition, MajoritiesRingEveryNodeReachesADifferentMajority) {
  for (size_t n = 3; n <= 9; ++n) {
    const Nodes nodes = names(n);
    const auto c = cuts({.shape = PartitionShape::majorities_ring, .nodes = nodes});
    std::set<std::set<std::string>> reached, heard;
    for (const auto& a : nodes) {
      const auto r = reached_by(c, nodes, a);
      EXPECT_EQ(r.size(), n / 2 + 1) << "n=" << n << " " << a << " reaches a bare majority";
      reached.insert(r);
      std::set<std::string> h;
      for (const auto& b : nodes) {
        if (reaches(c, b, a)) h.insert(b);
      }
      EXPECT_EQ(h.size(), n / 2 + 1) << "n=" << n << " " << a << " hears a bare majority";
      heard.insert(h);
    }
    EXPECT_EQ(reached.size(), n) << "no two nodes reach the same majority, n=" << n;
    EXPECT_EQ(heard.size(), n) << "no two nodes hear the same majority, n=" << n;
  }
  // Five nodes: each hears its two ring neighbours, so the cuts are symmetric.
  const auto five = cuts({.shape = PartitionShape::majorities_ring, .nodes = names(5)});
  EXPECT_EQ(reached_by(five, names(5), "n0"), (std::set<std::string>{"n4", "n0", "n1"}));
  for (const auto& c : five) EXPECT_TRUE(std::binary_search(five.begin(), five.end(), Cut{c.to, c.from}));
}

TEST(Partition, BridgeNodeReachesBothHalvesWhichCannotReachEachOther) {
  const Nodes nodes = names(5);
  const auto c = cuts({.shape = PartitionShape::bridge, .nodes = nodes});
  const std::set<std::string> all(nodes.begin(), nodes.end());
  EXPECT_EQ(reached_by(c, nodes, "n2"), all);
  for (const auto& a : nodes) EXPECT_TRUE(reaches(c, a, "n2")) << a;
  EXPECT_EQ(reached_by(c, nodes, "n0"), (std::set<std::string>{"n0", "n1", "n2"}));
  EXPECT_EQ(reached_by(c, nodes, "n4"), (std::set<std::string>{"n2", "n3", "n4"}));
  const auto four = cuts({.shape = PartitionShape::bridge, .nodes = names(4)});
  EXPECT_EQ(reached_by(four, names(4), "n1").size(), 4u);
  EXPECT_EQ(reached_by(four, names(4), "n0"), (std::set<std::string>{"n0", "n1"}));
}

TEST(Partition, OneWayCutsOnlyFromTo) {
  const auto c = cuts({.shape = PartitionShape::one_way, .from = {"m"}, .to = {"s1", "s2", "m"}});
  EXPECT_EQ(c, (std::vector<Cut>{{"m", "s1"}, {"m", "s2"}}));
  EXPECT_TRUE(reaches(c, "s1", "m"));
}

TEST(Partition, IsolateCutsTheSideOffFromEveryOtherNode) {
  const Nodes nodes = {"a", "b", "c", "lb"};
  const auto c = cuts({.shape = PartitionShape::isolate, .nodes = nodes, .from = {"b", "c"}});
  EXPECT_EQ(reached_by(c, nodes, "b"), (std::set<std::string>{"b", "c"}));
  EXPECT_EQ(reached_by(c, nodes, "a"), (std::set<std::string>{"a", "lb"}));
  EXPECT_EQ(c.size(), 8u);
}

TEST(Partition, PrimariesEachAloneTheRestTogether) {
  const Nodes nodes = {"s0m", "s0a", "s1m", "s1a"};
  const auto c =
      cuts({.shape = PartitionShape::primaries, .nodes = nodes, .primaries = {"s0m", "s1m"}});
  EXPECT_EQ(reached_by(c, nodes, "s0m"), (std::set<std::string>{"s0m"}));
  EXPECT_EQ(reached_by(c, nodes, "s1m"), (std::set<std::string>{"s1m"}));
  EXPECT_EQ(reached_by(c, nodes, "s0a"), (std::set<std::string>{"s0a", "s1a"}));
}

TEST(Partition, GroupsAsWrittenAndOthersUntouched) {
  const auto c = cuts({.shape = PartitionShape::groups, .groups = {{"a"}, {"b", "c"}, {"d"}}});
  const Nodes all = {"a", "b", "c", "d", "lb"};
  EXPECT_EQ(reached_by(c, all, "b"), (std::set<std::string>{"b", "c", "lb"}));
  EXPECT_EQ(reached_by(c, all, "lb"), (std::set<std::string>(all.begin(), all.end())));
  EXPECT_EQ(reached_by(c, all, "d"), (std::set<std::string>{"d", "lb"}));
}

TEST(Partition, InputsThatCutNothingAreErrors) {
  Rng rng(1);
  const std::vector<PartitionInput> bad = {
      {.shape = PartitionShape::halves, .nodes = {"a"}},
      {.shape = PartitionShape::bridge, .nodes = {"a", "b"}},
      {.shape = PartitionShape::majorities_ring, .nodes = {"a", "b"}},
      {.shape = PartitionShape::isolate, .nodes = {"a"}, .from = {"a"}},
      {.shape = PartitionShape::isolate, .nodes = {"a", "b"}},
      {.shape = PartitionShape::primaries, .nodes = {"a", "b"}},
      {.shape = PartitionShape::groups, .groups = {{"a"}, {}}},
      {.shape = PartitionShape::groups, .groups = {{"a", "b"}, {"b"}}},
      {.shape = PartitionShape::one_way, .from = {"a"}, .to = {"a"}},
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    auto r = partition_cuts(bad[i], rng);
    EXPECT_FALSE(r) << "case " << i;
    if (!r) {
      EXPECT_EQ(r.error().code, make_error_code(errc::invalid_argument));
    }
  }
}

}  // namespace
}  // namespace fl::chaos
