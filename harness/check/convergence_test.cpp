#include "harness/check/convergence.h"

#include <gtest/gtest.h>

#include "harness/check/test_history.h"

namespace fl::check {
namespace {

using namespace testing;

struct Fixture {
  Result convergence(const Evidence* e) {
    return check_convergence({h, events, e});
  }
  Result stat(const Evidence* e, StatFields f) { return check_stat({h, events, e}, f); }
  history::Compact h = compacted({});
  std::vector<RunEvent> events;
};

ConvergenceEvidence agreeing() {
  ConvergenceEvidence e;
  e.quiet_ns = 1'000'000'000;
  e.attempts = 1;
  e.shards = {{0, {{"db-s0-r0", true, "aa", ""}, {"db-s0-r1", true, "aa", ""}}},
              {1, {{"db-s1-r0", true, "bb", ""}, {"db-s1-r1", false, "", ""}}}};
  CacheReading c;
  c.node = "cache-0";
  c.running = true;
  c.entries = c.compared = 10;
  e.caches.push_back(c);
  return e;
}

TEST(Convergence, AgreeingReplicasAndCachesAreValid) {
  Fixture fx;
  Evidence ev;
  ev.convergence = agreeing();
  auto r = fx.convergence(&ev);
  EXPECT_EQ(r.verdict, Verdict::valid) << r.summary;
}

TEST(Convergence, ADivergedShardIsInvalid) {
  Fixture fx;
  Evidence ev;
  ev.convergence = agreeing();
  ev.convergence->shards[0].replicas[1].digest = "ab";
  auto r = fx.convergence(&ev);
  EXPECT_EQ(r.verdict, Verdict::invalid);
  EXPECT_NE(r.details_json.find("db-s0-r1"), std::string::npos);
}

TEST(Convergence, ACachedValueTheDbNoLongerHasIsInvalid) {
  Fixture fx;
  Evidence ev;
  ev.convergence = agreeing();
  ev.convergence->caches[0].mismatches.push_back({"k3", "old", "new", ""});
  auto r = fx.convergence(&ev);
  EXPECT_EQ(r.verdict, Verdict::invalid);
  EXPECT_NE(r.details_json.find("\"k3\""), std::string::npos);
}

TEST(Convergence, UnreadableNodesOrNoEvidenceAreUnknown) {
  Fixture fx;
  EXPECT_EQ(fx.convergence(nullptr).verdict, Verdict::unknown);
  Evidence ev;
  ev.convergence = agreeing();
  ev.convergence->shards[0].replicas[0].error = "ERR unknown command 'DIGEST'";
  EXPECT_EQ(fx.convergence(&ev).verdict, Verdict::unknown);
  Evidence empty;
  empty.convergence = ConvergenceEvidence{};
  EXPECT_EQ(fx.convergence(&empty).verdict, Verdict::unknown);
}

TEST(Convergence, EvidenceRoundTripsThroughJson) {
  ConvergenceEvidence e = agreeing();
  e.caches[0].mismatches.push_back({"k3", std::nullopt, "new", ""});
  e.digests_skipped = "";
  auto back = parse_convergence_json(convergence_json(e));
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(convergence_json(*back), convergence_json(e));
  EXPECT_EQ(back->shards.at(1).replicas.at(1).running, false);
  EXPECT_EQ(back->caches.at(0).mismatches.at(0).cached, std::nullopt);
  EXPECT_FALSE(parse_convergence_json("[1]"));
}

TEST(Info, ParsesFieldsAndSkipsSections) {
  auto f = parse_info("# Cache\r\nhits:10\r\nhit_ratio:0.5\r\n\r\n# LB\r\nbackend_a:addr=x,state=up\r\n");
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0], (std::pair<std::string, std::string>{"hits", "10"}));
  EXPECT_EQ(f[2].second, "addr=x,state=up");
}

Evidence caches() {
  Evidence ev;
  for (int i = 0; i < 3; ++i) {
    NodeStats n;
    n.id = "cache-" + std::to_string(i);
    n.group = "cache";
    n.kind = "cache";
    n.running = true;
    n.info = {{"hit_ratio", std::to_string(0.2 * (i + 1))}, {"evictions", std::to_string(i)}};
    ev.nodes.push_back(n);
  }
  NodeStats lb;
  lb.id = "lb-0";
  lb.group = "lb";
  lb.kind = "lb";
  lb.info = {{"requests", "100"}};
  ev.nodes.push_back(lb);
  return ev;
}

TEST(Stat, AggregatesOverTheGroupAndHoldsTheBounds) {
  Fixture fx;
  Evidence ev = caches();
  StatFields sum{"cache", "evictions", std::nullopt, 3.0, "sum"};
  EXPECT_EQ(fx.stat(&ev, sum).verdict, Verdict::valid);
  sum.max = 2.5;
  auto over = fx.stat(&ev, sum);
  EXPECT_EQ(over.verdict, Verdict::invalid);
  EXPECT_NE(over.summary.find("= 3"), std::string::npos) << over.summary;
  StatFields mean{"cache", "hit_ratio", 0.5, std::nullopt, "mean"};  // mean 0.4
  EXPECT_EQ(fx.stat(&ev, mean).verdict, Verdict::invalid);
  StatFields lowest{"cache", "hit_ratio", 0.2, std::nullopt, "min"};
  EXPECT_EQ(fx.stat(&ev, lowest).verdict, Verdict::valid);
  StatFields highest{"cache", "hit_ratio", 0.7, std::nullopt, "max"};  // max 0.6
  EXPECT_EQ(fx.stat(&ev, highest).verdict, Verdict::invalid);
  StatFields report{"lb", "requests", std::nullopt, std::nullopt, "sum"};
  EXPECT_EQ(fx.stat(&ev, report).verdict, Verdict::valid);
}

TEST(Stat, AMissingFieldOrGroupIsUnknown) {
  Fixture fx;
  Evidence ev = caches();
  EXPECT_EQ(fx.stat(&ev, {"cache", "nope", 0.0, std::nullopt, "sum"}).verdict, Verdict::unknown);
  EXPECT_EQ(fx.stat(&ev, {"broker", "lag", 0.0, std::nullopt, "sum"}).verdict, Verdict::unknown);
  EXPECT_EQ(fx.stat(nullptr, {"cache", "evictions", 0.0, std::nullopt, "sum"}).verdict,
            Verdict::unknown);
}

}  // namespace
}  // namespace fl::check
