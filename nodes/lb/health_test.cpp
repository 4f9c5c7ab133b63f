#include "nodes/lb/health.h"

#include <gtest/gtest.h>

namespace fl::lb {
namespace {

using namespace std::chrono_literals;

class HealthTest : public ::testing::Test {
 protected:
  HealthTest() : now_(Time{} + 1h), mon_(3, HealthOptions{}, now_) {}

  // Advances fake time and returns the checks due.
  std::vector<HealthMonitor::Probe> advance(Duration d) {
    now_ += d;
    std::vector<HealthMonitor::Probe> out;
    mon_.tick(now_, out);
    return out;
  }
  // Answers every probe in `probes` for `backend` with `ok`.
  void answer(const std::vector<HealthMonitor::Probe>& probes, size_t backend, bool ok) {
    for (const auto& p : probes) {
      if (p.backend == backend) mon_.on_probe(p.backend, p.id, ok);
    }
  }
  void answer_all(const std::vector<HealthMonitor::Probe>& probes, bool ok) {
    for (const auto& p : probes) mon_.on_probe(p.backend, p.id, ok);
  }

  Time now_;
  HealthMonitor mon_;
};

TEST_F(HealthTest, StartsUpAndChecksEveryBackendAtOnce) {
  EXPECT_EQ(mon_.up_count(), 3u);
  auto probes = advance(0ms);
  ASSERT_EQ(probes.size(), 3u);
  EXPECT_EQ(probes[0].backend, 0u);
  EXPECT_EQ(probes[2].backend, 2u);
  answer_all(probes, true);
  // Nothing more until the interval has passed.
  EXPECT_TRUE(advance(99ms).empty());
  EXPECT_EQ(advance(1ms).size(), 3u);
}

TEST_F(HealthTest, FallConsecutiveFailuresTakeABackendDown) {
  auto p = advance(0ms);
  answer(p, 1, false);
  answer(p, 0, true);
  answer(p, 2, true);
  EXPECT_TRUE(mon_.up(1));  // one failure < fall 2
  p = advance(100ms);
  answer(p, 1, true);  // a success resets the count
  answer(p, 0, true);
  answer(p, 2, true);
  p = advance(100ms);
  answer(p, 1, false);
  EXPECT_TRUE(mon_.up(1));
  const uint64_t gen = mon_.generation();
  p = advance(100ms);
  answer(p, 1, false);
  EXPECT_FALSE(mon_.up(1));
  EXPECT_EQ(mon_.down_reason(1), DownReason::active);
  EXPECT_EQ(mon_.ejections(1), 1u);
  EXPECT_GT(mon_.generation(), gen);
  EXPECT_EQ(mon_.up_count(), 2u);
}

TEST_F(HealthTest, UnansweredChecksFailAtTheirDeadline) {
  auto p = advance(0ms);  // never answered
  EXPECT_TRUE(mon_.up(0));
  // The check is still outstanding at 249 ms: no new one, no verdict.
  EXPECT_TRUE(advance(249ms).empty());
  EXPECT_EQ(mon_.next_due(), now_ + 1ms);
  // At its deadline it fails and (interval long past) the next check starts at once.
  p = advance(1ms);
  EXPECT_EQ(p.size(), 3u);
  EXPECT_TRUE(mon_.up(0));
  p = advance(250ms);
  EXPECT_EQ(mon_.up_count(), 0u);
  // A late answer to an expired check does not count.
  mon_.on_probe(0, 1, true);
  mon_.on_probe(0, 1, true);
  EXPECT_FALSE(mon_.up(0));
}

TEST_F(HealthTest, RiseConsecutiveSuccessesBringItBack) {
  auto p = advance(0ms);
  answer_all(p, false);
  p = advance(100ms);
  answer_all(p, false);
  ASSERT_FALSE(mon_.up(0));
  p = advance(100ms);
  answer(p, 0, true);
  EXPECT_FALSE(mon_.up(0));  // one success < rise 2
  p = advance(100ms);
  answer(p, 0, false);  // a failure resets the count
  p = advance(100ms);
  answer(p, 0, true);
  EXPECT_FALSE(mon_.up(0));
  p = advance(100ms);
  answer(p, 0, true);
  EXPECT_TRUE(mon_.up(0));
  EXPECT_EQ(mon_.down_reason(0), DownReason::none);
  EXPECT_EQ(mon_.ejections(0), 1u);
  EXPECT_FALSE(mon_.up(1));
}

TEST_F(HealthTest, PassiveFailuresEjectAndChecksReturn) {
  auto p = advance(0ms);
  answer_all(p, true);
  mon_.on_request(2, false);
  mon_.on_request(2, false);
  mon_.on_request(2, true);  // a reply resets the count
  mon_.on_request(2, false);
  mon_.on_request(2, false);
  EXPECT_TRUE(mon_.up(2));
  mon_.on_request(2, false);
  EXPECT_FALSE(mon_.up(2));
  EXPECT_EQ(mon_.down_reason(2), DownReason::passive);
  // Outcomes of requests still in flight when it went down change nothing.
  mon_.on_request(2, true);
  mon_.on_request(2, true);
  EXPECT_FALSE(mon_.up(2));
  // Active checks bring it back after `rise` successes.
  p = advance(100ms);
  answer_all(p, true);
  EXPECT_FALSE(mon_.up(2));
  p = advance(100ms);
  answer_all(p, true);
  EXPECT_TRUE(mon_.up(2));
  // And its passive count starts from zero again.
  mon_.on_request(2, false);
  mon_.on_request(2, false);
  EXPECT_TRUE(mon_.up(2));
}

TEST(HealthOptionsTest, PassiveEjectionCanBeDisabledAndCadenceHonoursLongTimeouts) {
  HealthOptions o;
  o.passive_failures = 0;
  o.interval = 100ms;
  o.timeout = 300ms;
  o.fall = 1;
  o.rise = 1;
  Time now = Time{} + 1h;
  HealthMonitor mon(1, o, now);
  for (int i = 0; i < 100; ++i) mon.on_request(0, false);
  EXPECT_TRUE(mon.up(0));
  std::vector<HealthMonitor::Probe> p;
  mon.tick(now, p);
  ASSERT_EQ(p.size(), 1u);
  const uint64_t first = p[0].id;
  // A slow check holds the next one back: one check at a time per backend.
  p.clear();
  mon.tick(now + 200ms, p);
  EXPECT_TRUE(p.empty());
  mon.on_probe(0, first, false);
  EXPECT_FALSE(mon.up(0));  // fall 1
  mon.tick(now + 200ms, p);
  ASSERT_EQ(p.size(), 1u);
  mon.on_probe(0, p[0].id, true);
  EXPECT_TRUE(mon.up(0));  // rise 1
  EXPECT_EQ(mon.ejections(0), 1u);
}

}  // namespace
}  // namespace fl::lb
