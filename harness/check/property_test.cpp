// The checker against ground truth: histories of simulated linearizable registers (valid by
// construction) and the same with a planted stale read (invalid by construction).
#include <gtest/gtest.h>

#include "harness/check/linearizable.h"
#include "harness/check/register_sim.h"
#include "harness/history/compact.h"

namespace fl::check {
namespace {

struct Tally {
  int valid = 0, invalid = 0;
};

void run_cases(uint64_t seed, int cases, const sim::Options& base, std::string model, Tally& t) {
  Rng root(seed);
  for (int i = 0; i < cases; ++i) {
    Rng rng = root.fork("case" + std::to_string(i));
    sim::Options o = base;
    o.processes = static_cast<int>(rng.uniform(1, static_cast<uint64_t>(base.processes)));
    o.ops = static_cast<int>(rng.uniform(5, static_cast<uint64_t>(base.ops)));
    auto ops = sim::simulate(rng, o);
    bool planted = rng.chance(0.5) && sim::inject_stale_read(rng, ops);
    auto h = sim::to_history(ops, o.keys, o.nemesis);
    auto c = history::compact(h);
    ASSERT_TRUE(c) << c.error().message;
    LinearizableOptions lo;
    lo.model = model;
    lo.threads = 1;
    lo.explain = planted;
    auto r = check_linearizable(*c, lo);
    ASSERT_TRUE(r) << r.error().message;
    std::string replay = "seed " + std::to_string(seed) + " case " + std::to_string(i);
    if (planted) {
      ASSERT_EQ(r->verdict, Verdict::invalid) << replay;
      ASSERT_FALSE(r->window.empty()) << replay;
      ++t.invalid;
    } else {
      ASSERT_EQ(r->verdict, Verdict::valid) << replay;
      ++t.valid;
    }
  }
}

TEST(Property, SingleRegisterAgreesWithGroundTruth) {
  Tally t;
  sim::Options o;
  o.processes = 6;
  o.ops = 60;
  run_cases(42, 800, o, "cas-register", t);
  EXPECT_GE(t.valid + t.invalid, 800);
  EXPECT_GT(t.invalid, 200);
  EXPECT_GT(t.valid, 200);
}

TEST(Property, ManyKeysAgreeWithGroundTruth) {
  Tally t;
  sim::Options o;
  o.processes = 8;
  o.ops = 120;
  o.keys = 3;
  o.crash = 0.1;
  run_cases(7, 400, o, "kv", t);
  EXPECT_GE(t.valid + t.invalid, 400);
  EXPECT_GT(t.invalid, 100);
}

TEST(Property, CrashHeavyHistoriesAgreeWithGroundTruth) {
  // Many info ops: exercises the treatment of ops that never return (twins, no-op skipping).
  Tally t;
  sim::Options o;
  o.processes = 6;
  o.ops = 70;
  o.crash = 0.3;
  o.read = 0.3;
  o.write = 0.4;
  run_cases(2024, 300, o, "cas-register", t);
  EXPECT_GE(t.valid + t.invalid, 300);
  EXPECT_GT(t.invalid, 50);
}

TEST(Property, ExplanationsFromAnyStateStillFail) {
  // The failing window must fail on its own: re-check just its ops from the start state is not
  // implied, but the prefix before it must be linearizable and the whole history must not.
  Rng rng(99);
  sim::Options o;
  o.processes = 5;
  o.ops = 80;
  int checked = 0;
  for (int i = 0; i < 200 && checked < 50; ++i) {
    auto ops = sim::simulate(rng, o);
    if (!sim::inject_stale_read(rng, ops)) continue;
    auto h = sim::to_history(ops, 1);
    auto c = history::compact(h);
    ASSERT_TRUE(c);
    auto r = check_linearizable(*c, {});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->verdict, Verdict::invalid);
    // The ops of the prefix alone are linearizable.
    std::vector<history::Op> prefix;
    for (const auto& op : h) {
      if (op.time <= r->prefix_end_time && r->prefix_end_time > 0) prefix.push_back(op);
    }
    auto pc = history::compact(prefix);
    ASSERT_TRUE(pc);
    auto pr = check_linearizable(*pc, {});
    ASSERT_TRUE(pr);
    EXPECT_EQ(pr->verdict, Verdict::valid) << "case " << i;
    EXPECT_LE(r->window.size(), c->ops.size());
    ++checked;
  }
  EXPECT_EQ(checked, 50);
}

}  // namespace
}  // namespace fl::check
