#include "harness/check/counter.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness/check/test_history.h"

namespace fl::check {
namespace {

using namespace testing;
const std::vector<RunEvent> kNoEvents;

CounterReport run(const HistoryBuilder& h) {
  return check_counter(Input{compacted(h.ops), kNoEvents}, CounterOptions{});
}

TEST(Counter, SequentialAddsAndReads) {
  HistoryBuilder h;
  h.op(1, 0, 1, Type::ok, "read", {}, Value::null());  // absent reads as 0
  h.op(1, 2, 3, Type::ok, "add", Value::of(5));
  h.op(1, 4, 5, Type::ok, "read", {}, Value::of(5));
  h.op(1, 6, 7, Type::ok, "add", Value::of(2));
  h.op(1, 8, 9, Type::ok, "read", {}, Value::of(7));
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::valid) << r.reason;
  EXPECT_EQ(r.reads, 3u);
  EXPECT_EQ(r.adds_ok, 2u);
  EXPECT_EQ(r.bad, 0u);
  ASSERT_EQ(r.finals.size(), 1u);
  EXPECT_EQ(r.finals[0].last_read, 7);
  EXPECT_EQ(r.finals[0].lower, 7);
  EXPECT_EQ(r.finals[0].upper, 7);
}

TEST(Counter, ReadsOutsideTheBoundsAreReported) {
  HistoryBuilder h;
  h.op(1, 0, 1, Type::ok, "add", Value::of(5));
  h.op(2, 2, 3, Type::ok, "read", {}, Value::of(4));  // the add was acknowledged before
  h.op(2, 4, 5, Type::ok, "read", {}, Value::of(6));  // nothing more was ever added
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::invalid);
  EXPECT_EQ(r.bad, 2u);
  ASSERT_EQ(r.bad_reads.size(), 2u);
  EXPECT_EQ(r.bad_reads[0].index, 3);
  EXPECT_EQ(r.bad_reads[0].value, 4);
  EXPECT_EQ(r.bad_reads[0].lower, 5);
  EXPECT_EQ(r.bad_reads[0].upper, 5);
  EXPECT_EQ(r.bad_reads[1].value, 6);
}

TEST(Counter, ConcurrentAddMayOrMayNotCount) {
  for (int64_t seen : {10, 13}) {
    HistoryBuilder h;
    h.op(1, 0, 1, Type::ok, "add", Value::of(10));
    h.invoke(2, 2, "add", Value::of(3));
    h.invoke(3, 3, "read");
    h.complete(2, 4, Type::ok, "add", Value::of(3));
    h.complete(3, 5, Type::ok, "read", Value::of(seen));
    EXPECT_EQ(run(h).verdict, Verdict::valid) << seen;
  }
}

TEST(Counter, AnAddInvokedAfterTheReadEndedCannotCount) {
  HistoryBuilder h;
  h.op(2, 0, 1, Type::ok, "read", {}, Value::of(3));
  h.op(1, 2, 3, Type::ok, "add", Value::of(3));
  EXPECT_EQ(run(h).verdict, Verdict::invalid);
}

TEST(Counter, IndeterminateAddsMayCountAtAnyLaterTime) {
  HistoryBuilder h;
  h.op(1, 0, 1, Type::info, "add", Value::of(4));
  h.op(2, 2, 3, Type::ok, "read", {}, Value::of(0));
  h.op(2, 100, 101, Type::ok, "read", {}, Value::of(4));
  h.invoke(3, 102, "add", Value::of(1));  // never completes
  h.op(2, 103, 104, Type::ok, "read", {}, Value::of(5));
  h.op(2, 105, 106, Type::ok, "read", {}, Value::of(0));
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::valid) << r.bad;
  EXPECT_EQ(r.adds_info, 2u);
  EXPECT_EQ(r.finals[0].lower, 0);
  EXPECT_EQ(r.finals[0].upper, 5);
}

TEST(Counter, FailedAddsNeverCount) {
  HistoryBuilder h;
  h.op(1, 0, 1, Type::fail, "add", Value::of(4));
  h.op(2, 2, 3, Type::ok, "read", {}, Value::of(4));
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::invalid);
  EXPECT_EQ(r.adds_fail, 1u);
  EXPECT_EQ(r.bad_reads.at(0).upper, 0);
}

TEST(Counter, NegativeIncrementsWidenTheBoundDownward) {
  HistoryBuilder h;
  h.op(1, 0, 1, Type::ok, "add", Value::of(10));
  h.op(1, 2, 3, Type::info, "add", Value::of(-3));
  h.op(2, 4, 5, Type::ok, "read", {}, Value::of(7));
  h.op(2, 6, 7, Type::ok, "read", {}, Value::of(10));
  h.op(2, 8, 9, Type::ok, "read", {}, Value::of(11));
  auto r = run(h);
  EXPECT_EQ(r.bad, 1u);
  EXPECT_EQ(r.bad_reads.at(0).value, 11);
  EXPECT_EQ(r.bad_reads.at(0).lower, 7);
  EXPECT_EQ(r.bad_reads.at(0).upper, 10);
}

TEST(Counter, KeysAreIndependent) {
  HistoryBuilder h;
  h.key("a").op(1, 0, 1, Type::ok, "add", Value::of(1));
  h.key("b").op(1, 2, 3, Type::ok, "read", {}, Value::of(1));
  h.key("a").op(1, 4, 5, Type::ok, "read", {}, Value::of(1));
  auto r = run(h);
  EXPECT_EQ(r.keys, 2u);
  EXPECT_EQ(r.bad, 1u);
  EXPECT_EQ(r.bad_reads.at(0).key, "b");
}

TEST(Counter, MalformedOrEmptyHistoriesAreUnknown) {
  HistoryBuilder text_read, text_add, other;
  text_read.op(1, 0, 1, Type::ok, "read", {}, Value::of(std::string("x")));
  text_add.op(1, 0, 1, Type::ok, "add", Value::of(std::string("x")));
  other.op(1, 0, 1, Type::ok, "cas", list({1, 2}));
  for (auto* h : {&text_read, &text_add, &other}) {
    auto r = run(*h);
    EXPECT_EQ(r.verdict, Verdict::unknown);
    EXPECT_FALSE(r.reason.empty());
  }
  HistoryBuilder adds_only;
  adds_only.op(1, 0, 1, Type::ok, "add", Value::of(1));
  EXPECT_EQ(run(adds_only).verdict, Verdict::unknown);
}

TEST(Counter, ThroughTheRegistry) {
  plan::CheckSpec spec;
  spec.kind = "counter";
  auto checker = make_checker(spec);
  ASSERT_TRUE(checker) << checker.error().message;
  HistoryBuilder h;
  h.op(1, 0, 1, Type::ok, "add", Value::of(2));
  h.op(2, 2, 3, Type::ok, "read", {}, Value::of(3));
  Result res = (*checker)->check(Input{compacted(h.ops), kNoEvents});
  EXPECT_EQ(res.name, "counter");
  EXPECT_EQ(res.verdict, Verdict::invalid);
  EXPECT_NE(res.summary.find("allowed 2..2"), std::string::npos) << res.summary;
  auto details = boost::json::parse(res.details_json).as_object();
  EXPECT_EQ(details.at("bad_reads").as_array().size(), 1u);
}

}  // namespace
}  // namespace fl::check
