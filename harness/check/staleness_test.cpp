#include "harness/check/staleness.h"

#include <gtest/gtest.h>

#include "harness/check/test_history.h"

namespace fl::check {
namespace {

using namespace testing;

Value v(int64_t x) { return Value::of(x); }

StalenessReport run(const HistoryBuilder& b, StalenessOptions opts = {}) {
  auto h = compacted(b.ops);
  std::vector<RunEvent> events;
  return check_staleness({h, events}, opts);
}

TEST(Staleness, ReadsOfTheLatestOrAConcurrentWriteAreFresh) {
  HistoryBuilder b;
  b.key("k1");
  b.op(0, 0, 1, Type::ok, "write", v(1));
  b.op(1, 2, 3, Type::ok, "read", Value::null(), v(1));
  b.op(0, 4, 10, Type::ok, "write", v(2));
  b.op(1, 5, 6, Type::ok, "read", Value::null(), v(1));  // 2 still in flight: fresh
  b.op(1, 7, 8, Type::ok, "read", Value::null(), v(2));  // concurrent with its write: fresh
  auto r = run(b);
  EXPECT_EQ(r.verdict, Verdict::valid) << r.reason;
  EXPECT_EQ(r.judged, 3u);
  EXPECT_EQ(r.stale, 0u);
}

TEST(Staleness, AReadOfASupersededValueIsStaleByTheTimeSinceItWasSuperseded) {
  HistoryBuilder b;
  b.key("k1");
  b.op(0, 0, 1, Type::ok, "write", v(1));
  b.op(0, 2, 3, Type::ok, "write", v(2));               // supersedes 1 at 3ms
  b.op(1, 13, 14, Type::ok, "read", Value::null(), v(1));  // 10ms stale
  b.op(1, 15, 16, Type::ok, "read", Value::null(), v(2));
  b.key("k2");
  b.op(2, 0, 1, Type::ok, "write", v(7));                  // supersedes the initial null at 1ms
  b.op(3, 5, 6, Type::ok, "read", Value::null(), Value::null());  // 4ms stale
  auto r = run(b);
  EXPECT_EQ(r.verdict, Verdict::valid);  // no thresholds: report only
  EXPECT_EQ(r.judged, 3u);
  EXPECT_EQ(r.stale, 2u);
  EXPECT_EQ(r.staleness.max, ms(10));
  EXPECT_EQ(r.staleness.min, ms(4));
  ASSERT_EQ(r.worst.size(), 2u);
  EXPECT_EQ(r.worst[0].key, "k1");
  EXPECT_EQ(r.worst[0].staleness, ms(10));
}

TEST(Staleness, ThresholdsJudge) {
  HistoryBuilder b;
  b.key("k");
  b.op(0, 0, 1, Type::ok, "write", v(1));
  b.op(0, 2, 3, Type::ok, "write", v(2));
  b.op(1, 13, 14, Type::ok, "read", Value::null(), v(1));  // 10ms stale
  b.op(1, 15, 16, Type::ok, "read", Value::null(), v(2));
  StalenessOptions loose;
  loose.max_stale_ratio = 0.5;
  loose.max_staleness = std::chrono::milliseconds(10);
  EXPECT_EQ(run(b, loose).verdict, Verdict::valid);
  StalenessOptions ratio;
  ratio.max_stale_ratio = 0.4;
  EXPECT_EQ(run(b, ratio).verdict, Verdict::invalid);
  StalenessOptions lag;
  lag.max_staleness = std::chrono::milliseconds(9);
  EXPECT_EQ(run(b, lag).verdict, Verdict::invalid);
}

TEST(Staleness, CasWritesCountAndUnacknowledgedValuesAreNotJudged) {
  HistoryBuilder b;
  b.key("k");
  b.op(0, 0, 1, Type::ok, "write", v(1));
  b.op(0, 2, 3, Type::ok, "cas", list({1, 2}));            // supersedes 1 at 3ms
  b.op(0, 4, 5, Type::info, "write", v(3));
  b.op(1, 8, 9, Type::ok, "read", Value::null(), v(1));    // 5ms stale
  b.op(2, 10, 11, Type::ok, "read", Value::null(), v(3));  // from an info write: not judged
  auto r = run(b);
  EXPECT_EQ(r.stale, 1u);
  EXPECT_EQ(r.unjudged, 1u);
  EXPECT_EQ(r.staleness.max, ms(5));
}

TEST(Staleness, RepeatedValuesTakeTheWriteThatMakesTheReadFreshest) {
  HistoryBuilder b;
  b.key("k");
  b.op(0, 0, 1, Type::ok, "write", v(1));
  b.op(0, 2, 3, Type::ok, "write", v(2));
  b.op(0, 4, 5, Type::ok, "write", v(1));  // 1 again
  b.op(1, 8, 9, Type::ok, "read", Value::null(), v(1));
  auto r = run(b);
  EXPECT_EQ(r.judged, 1u);
  EXPECT_EQ(r.stale, 0u);
}

TEST(Staleness, NoReadsIsUnknown) {
  HistoryBuilder b;
  b.key("k");
  b.op(0, 0, 1, Type::ok, "write", v(1));
  EXPECT_EQ(run(b).verdict, Verdict::unknown);
}

}  // namespace
}  // namespace fl::check
