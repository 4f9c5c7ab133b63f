#include "harness/check/availability.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness/check/test_history.h"

namespace fl::check {
namespace {

using namespace testing;
const std::vector<RunEvent> kNoEvents;

AvailabilityReport run(const HistoryBuilder& h, double min_ok_ratio = 0,
                       const std::vector<RunEvent>& events = kNoEvents) {
  return check_availability(Input{compacted(h.ops), events}, AvailabilityOptions{min_ok_ratio});
}

TEST(Availability, AllOk) {
  HistoryBuilder h;
  for (int i = 0; i < 30; ++i) h.op(i % 3, 100 * i, 100 * i + 5, Type::ok, "read", {});
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::valid);
  EXPECT_EQ(r.ok, 30u);
  EXPECT_DOUBLE_EQ(r.ok_ratio, 1.0);
  ASSERT_EQ(r.per_second.size(), 3u);
  EXPECT_EQ(r.per_second[0].second, 0);
  EXPECT_EQ(r.per_second[0].ok, 10u);
  EXPECT_EQ(r.per_second[2].total, 10u);
  EXPECT_TRUE(r.longest_recovered);
}

TEST(Availability, FailAndInfoCountAsNotOkAndTheRatioIsJudgedOnlyWhenAsked) {
  HistoryBuilder h;
  h.op(1, 0, 1, Type::ok, "write", Value::of(1));
  h.op(1, 2, 3, Type::ok, "write", Value::of(1));
  h.op(1, 4, 5, Type::fail, "write", Value::of(1));
  h.op(2, 6, 7, Type::info, "write", Value::of(1));
  h.invoke(3, 8, "write", Value::of(1));  // never completes: counts as info
  auto r = run(h);
  EXPECT_EQ(r.ok, 2u);
  EXPECT_EQ(r.fail, 1u);
  EXPECT_EQ(r.info, 2u);
  EXPECT_DOUBLE_EQ(r.ok_ratio, 0.4);
  EXPECT_EQ(r.verdict, Verdict::valid);  // min_ok_ratio 0: report only
  EXPECT_EQ(run(h, 0.4).verdict, Verdict::valid);
  auto strict = run(h, 0.5);
  EXPECT_EQ(strict.verdict, Verdict::invalid);
  EXPECT_NE(strict.reason.find("below the minimum"), std::string::npos);
}

TEST(Availability, LongestUnavailableStretch) {
  HistoryBuilder h;
  h.op(1, 0, 10, Type::ok, "read", {});
  h.op(2, 100, 110, Type::fail, "read", {});  // the outage begins with this attempt
  h.op(3, 2000, 3000, Type::info, "read", {});
  h.op(4, 5000, 5200, Type::ok, "read", {});  // and ends here
  h.op(5, 5300, 5310, Type::ok, "read", {});
  auto r = run(h);
  EXPECT_EQ(r.longest_unavailable_from, ms(100));
  EXPECT_EQ(r.longest_unavailable_ns, ms(5100));
  EXPECT_TRUE(r.longest_recovered);
}

TEST(Availability, AStretchStillOpenAtTheEndIsNotRecovered) {
  HistoryBuilder h;
  h.op(1, 0, 10, Type::ok, "read", {});
  h.op(1, 20, 1020, Type::info, "read", {});
  h.op(2, 30, 40, Type::fail, "read", {});
  auto r = run(h);
  EXPECT_EQ(r.longest_unavailable_from, ms(20));
  EXPECT_EQ(r.longest_unavailable_ns, ms(1000));
  EXPECT_FALSE(r.longest_recovered);
}

TEST(Availability, IdleTimeIsNotUnavailability) {
  HistoryBuilder h;
  h.op(1, 0, 1, Type::ok, "read", {});
  h.op(1, 10000, 10002, Type::ok, "read", {});  // nothing attempted in between
  auto r = run(h);
  EXPECT_EQ(r.longest_unavailable_ns, ms(2));
}

TEST(Availability, RecoveryAfterEachEvent) {
  HistoryBuilder h;
  h.op(1, 0, 10, Type::ok, "read", {});
  h.op(2, 900, 1500, Type::ok, "read", {});  // invoked before the fault: does not count
  h.op(3, 1100, 1200, Type::fail, "read", {});
  h.op(4, 2000, 2500, Type::ok, "read", {});
  h.op(5, 4000, 4100, Type::fail, "read", {});
  std::vector<RunEvent> events = {
      {ms(3000), "fault.start", "db-1", "kill"},
      {ms(1000), "fault.start", "db-0", "kill"},
  };
  auto r = run(h, 0, events);
  ASSERT_EQ(r.recoveries.size(), 2u);
  EXPECT_EQ(r.recoveries[0].event.node, "db-0");  // sorted by time
  EXPECT_EQ(r.recoveries[0].recovered_after_ns, ms(1500));
  EXPECT_EQ(r.recoveries[1].event.node, "db-1");
  EXPECT_FALSE(r.recoveries[1].recovered_after_ns.has_value());
}

TEST(Availability, OnlyUnaskedFaultsAreEventsToRecoverFrom) {
  HistoryBuilder h;
  h.op(1, 0, 10, Type::ok, "read", {});
  h.op(1, 2000, 2010, Type::ok, "read", {});
  RunEvent stop{ms(1000), "node.exited", "db-0", ""};
  stop.expected = true;
  RunEvent crash{ms(1000), "node.exited", "db-1", ""};
  std::vector<RunEvent> events = {{ms(0), "cluster.ready", "", ""},
                                  stop,
                                  crash,
                                  {ms(1500), "phase.final-reads", "", ""},
                                  {ms(9000), "fault.start", "db-2", "after the history"}};
  auto r = run(h, 0, events);
  ASSERT_EQ(r.recoveries.size(), 1u);
  EXPECT_EQ(r.recoveries[0].event.node, "db-1");
  EXPECT_EQ(r.recoveries[0].recovered_after_ns, ms(1010));
}

TEST(Availability, AnAnsweredPreconditionFailureIsServed) {
  HistoryBuilder h;
  h.op(1, 0, 10, Type::ok, "cas", {});
  h.invoke(2, 20, "cas");
  h.ops.push_back(h.ops.back());
  h.ops.back().index = static_cast<int64_t>(h.ops.size() - 1);
  h.ops.back().type = Type::fail;
  h.ops.back().time = ms(30);
  h.ops.back().error = std::string(history::kPreconditionFailed);
  h.op(3, 40, 50, Type::fail, "cas", {});  // refused: not served
  auto r = run(h, 0.5);
  EXPECT_EQ(r.ok, 2u);
  EXPECT_EQ(r.fail, 1u);
  EXPECT_EQ(r.verdict, Verdict::valid);
}

TEST(Availability, EmptyOrMalformedIsUnknown) {
  EXPECT_EQ(run(HistoryBuilder{}).verdict, Verdict::unknown);
  HistoryBuilder bad;
  bad.complete(1, 0, Type::ok, "read");
  // A malformed history is the reader's error (history::compact), before any checker.
  auto c = history::compact(bad.ops);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("completion without a pending invoke"), std::string::npos);
}

TEST(Availability, ThroughTheRegistryWithMinOkRatio) {
  plan::CheckSpec spec;
  spec.kind = "availability";
  spec.min_ok_ratio = 0.9;
  auto checker = make_checker(spec);
  ASSERT_TRUE(checker) << checker.error().message;
  HistoryBuilder h;
  h.op(1, 0, 1, Type::ok, "read", {});
  h.op(1, 2, 3, Type::fail, "read", {});
  std::vector<RunEvent> events = {{ms(1.5), "fault.start", "db", ""}};
  Result res = (*checker)->check(Input{compacted(h.ops), events});
  EXPECT_EQ(res.name, "availability");
  EXPECT_EQ(res.verdict, Verdict::invalid);
  EXPECT_NE(res.summary.find("50.00% ok"), std::string::npos) << res.summary;
  auto details = boost::json::parse(res.details_json).as_object();
  EXPECT_DOUBLE_EQ(details.at("ok_ratio").as_double(), 0.5);
  EXPECT_TRUE(details.at("recoveries").as_array().at(0).at("recovered_after_ns").is_null());
}

}  // namespace
}  // namespace fl::check
