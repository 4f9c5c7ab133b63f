// The checker against ground truth: histories of simulated linearizable registers (valid by
// construction) and the same with a planted stale read (invalid by construction).
#include <gtest/gtest.h>

#include <algorithm>

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

// Sets: adds and reads of the whole set, each taking effect at a random point of its interval;
// the planted violation is a read missing an element whose add completed before it began.
TEST(Property, SetsAgreeWithGroundTruth) {
  Rng root(77);
  int valid = 0, invalid = 0;
  for (int c = 0; c < 300; ++c) {
    Rng rng = root.fork("set" + std::to_string(c));
    struct SOp {
      int64_t call, ret, lin, process;
      bool add;
      int64_t x;
      std::vector<int64_t> seen;
    };
    std::vector<SOp> ops;
    std::vector<int64_t> clock(4, 0);
    int64_t next = 1;
    int n = static_cast<int>(rng.uniform(5, 40));
    for (int i = 0; i < n; ++i) {
      auto w = rng.uniform(0, 3);
      SOp op;
      op.call = (clock[w] + static_cast<int64_t>(rng.uniform(1, 5))) * 16 + static_cast<int64_t>(w);
      int64_t dur = static_cast<int64_t>(rng.uniform(1, 8)) * 16;
      op.ret = op.call + dur;
      op.lin = op.call + 1 + static_cast<int64_t>(rng.uniform(0, static_cast<uint64_t>(dur - 2)));
      clock[w] = (op.ret - static_cast<int64_t>(w)) / 16;
      op.process = static_cast<int64_t>(w);
      op.add = rng.chance(0.6);
      op.x = op.add ? next++ : 0;
      ops.push_back(op);
    }
    std::vector<size_t> order(ops.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return ops[a].lin < ops[b].lin; });
    std::vector<int64_t> set;
    for (size_t i : order) {
      if (ops[i].add)
        set.push_back(ops[i].x);
      else
        ops[i].seen = set;
    }
    bool planted = false;
    if (rng.chance(0.5)) {
      for (auto& r : ops) {
        if (r.add || planted) continue;
        for (const auto& a : ops) {
          if (!a.add || a.ret >= r.call) continue;
          auto it = std::find(r.seen.begin(), r.seen.end(), a.x);
          if (it != r.seen.end()) {
            r.seen.erase(it);
            planted = true;
            break;
          }
        }
      }
    }
    std::vector<history::Op> h;
    for (const auto& o : ops) {
      history::Op inv;
      inv.time = o.call;
      inv.process = o.process;
      inv.f = o.add ? "add" : "read";
      if (o.add) inv.value = history::Value::of(o.x);
      history::Op done = inv;
      done.type = history::Type::ok;
      done.time = o.ret;
      if (!o.add) {
        std::vector<history::Value> elems;
        for (auto x : o.seen) elems.push_back(history::Value::of(x));
        done.value = history::Value::of(std::move(elems));
      }
      h.push_back(inv);
      h.push_back(done);
    }
    std::stable_sort(h.begin(), h.end(),
                     [](const auto& a, const auto& b) { return a.time < b.time; });
    for (size_t i = 0; i < h.size(); ++i) h[i].index = static_cast<int64_t>(i);
    auto compacted = history::compact(h);
    ASSERT_TRUE(compacted) << compacted.error().message;
    LinearizableOptions lo;
    lo.model = "set";
    lo.threads = 1;
    auto r = check_linearizable(*compacted, lo);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->verdict, planted ? Verdict::invalid : Verdict::valid) << "case " << c;
    (planted ? invalid : valid)++;
  }
  EXPECT_GT(valid, 100);
  EXPECT_GT(invalid, 50);
}

TEST(Property, TheReportedPrefixIsLinearizable) {
  // The longest linearizable prefix, cut from the history as a reader would (ops still running
  // at the cut have no completion), checks valid on its own; and the failing window is found.
  Rng rng(99);
  sim::Options o;
  o.processes = 5;
  o.ops = 80;
  int checked = 0, windows_from_any_state = 0;
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
    EXPECT_FALSE(r->window.empty());
    windows_from_any_state += !r->window_from_start;
    ++checked;
  }
  EXPECT_EQ(checked, 50);
  EXPECT_GT(windows_from_any_state, 40);
}

}  // namespace
}  // namespace fl::check
