#include "harness/check/set_full.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness/check/test_history.h"

namespace fl::check {
namespace {

using namespace testing;
const std::vector<RunEvent> kNoEvents;

SetFullReport run(const HistoryBuilder& h, SetFullOptions opts = {}) {
  return check_set_full(Input{compacted(h.ops), kNoEvents}, opts);
}

TEST(SetFull, ElementsInEveryLaterReadAreStable) {
  HistoryBuilder h;
  h.op(1, 0, 10, Type::ok, "add", Value::of(1));
  h.op(2, 5, 12, Type::ok, "add", Value::of(2));
  h.op(3, 20, 30, Type::ok, "read", {}, list({1, 2}));
  h.op(3, 40, 50, Type::ok, "read", {}, list({2, 1}));
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::valid) << r.reason;
  EXPECT_EQ(r.keys, 1u);
  EXPECT_EQ(r.reads, 2u);
  EXPECT_EQ(r.attempted, 2u);
  EXPECT_EQ(r.acknowledged, 2u);
  EXPECT_EQ(r.stable, 2u);
  EXPECT_EQ(r.lost + r.stale + r.never_read + r.unexpected, 0u);
  // From the add's invoke to the end of the first read holding it: 30ms and 25ms.
  EXPECT_EQ(r.visible_latency.count, 2u);
  EXPECT_EQ(r.visible_latency.max, ms(30));
  EXPECT_EQ(r.visible_latency.min, ms(25));
}

TEST(SetFull, AcknowledgedElementMissingFromTheFinalReadIsLost) {
  HistoryBuilder h;
  h.op(1, 0, 10, Type::ok, "add", Value::of(1));
  h.op(1, 11, 12, Type::ok, "add", Value::of(2));
  h.op(2, 20, 30, Type::ok, "read", {}, list({1, 2}));
  h.op(2, 40, 50, Type::ok, "read", {}, list({2}));
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::invalid);
  EXPECT_EQ(r.lost, 1u);
  EXPECT_EQ(r.stable, 1u);
  ASSERT_EQ(r.lost_elements.size(), 1u);
  EXPECT_EQ(r.lost_elements[0].element, Value::of(1));
  EXPECT_EQ(r.lost_elements[0].add_index, 0);
  EXPECT_EQ(r.lost_elements[0].read_index, 7);  // the completion of the last read
}

TEST(SetFull, NeverSeenAcknowledgedElementIsLost) {
  HistoryBuilder h;
  h.op(1, 0, 10, Type::ok, "add", Value::of(1));
  h.op(2, 20, 30, Type::ok, "read", {}, list({}));
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::invalid);
  EXPECT_EQ(r.lost, 1u);
}

TEST(SetFull, MissingThenPresentIsStale) {
  HistoryBuilder h;
  h.op(1, 0, 10, Type::ok, "add", Value::of(1));
  h.op(2, 20, 30, Type::ok, "read", {}, list({}));
  h.op(2, 40, 50, Type::ok, "read", {}, list({1}));
  h.op(2, 60, 70, Type::ok, "read", {}, list({1}));
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::valid);
  EXPECT_EQ(r.stale, 1u);
  EXPECT_EQ(r.max_stale_ns, ms(10));  // acknowledged at 10, still missing from a read at 20
  ASSERT_EQ(r.stale_elements.size(), 1u);
  EXPECT_EQ(r.stale_elements[0].read_index, 3);
}

TEST(SetFull, FlappingEndsByTheLastRead) {
  HistoryBuilder present_last, absent_last;
  for (auto* h : {&present_last, &absent_last}) {
    h->op(1, 0, 10, Type::ok, "add", Value::of(7));
    h->op(2, 20, 30, Type::ok, "read", {}, list({7}));
    h->op(2, 40, 50, Type::ok, "read", {}, list({}));
  }
  present_last.op(2, 60, 70, Type::ok, "read", {}, list({7}));
  absent_last.op(2, 60, 70, Type::ok, "read", {}, list({7}));
  absent_last.op(2, 80, 90, Type::ok, "read", {}, list({}));
  EXPECT_EQ(run(present_last).stale, 1u);
  EXPECT_EQ(run(present_last).verdict, Verdict::valid);
  auto lost = run(absent_last);
  EXPECT_EQ(lost.lost, 1u);
  EXPECT_EQ(lost.verdict, Verdict::invalid);
  EXPECT_EQ(lost.lost_elements[0].read_index, 9);
}

TEST(SetFull, AbsenceInAReadConcurrentWithTheLastSightingIsNotLoss) {
  HistoryBuilder h;
  h.op(1, 0, 10, Type::ok, "add", Value::of(1));
  h.op(2, 20, 60, Type::ok, "read", {}, list({1}));  // long read, saw it
  h.op(3, 50, 55, Type::ok, "read", {}, list({}));   // began before that read ended
  auto r = run(h);
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(r.stale, 1u);
  EXPECT_EQ(r.verdict, Verdict::valid);
}

TEST(SetFull, NoReadAfterTheAcknowledgementIsNeverRead) {
  HistoryBuilder h;
  h.op(1, 0, 10, Type::ok, "add", Value::of(1));
  h.op(1, 11, 100, Type::ok, "add", Value::of(2));
  h.op(2, 20, 30, Type::ok, "read", {}, list({1}));  // began before 2's ack: says nothing of 2
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::valid);
  EXPECT_EQ(r.stable, 1u);
  EXPECT_EQ(r.never_read, 1u);
}

TEST(SetFull, ElementsNeverAddedOrFailedAreUnexpected) {
  HistoryBuilder h;
  h.op(1, 0, 10, Type::ok, "add", Value::of(1));
  h.op(1, 11, 12, Type::fail, "add", Value::of(2));
  h.op(2, 20, 30, Type::ok, "read", {}, list({1, 2, 99}));
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::invalid);
  EXPECT_EQ(r.unexpected, 2u);
  EXPECT_EQ(r.attempted, 2u);
  ASSERT_EQ(r.unexpected_elements.size(), 2u);
  EXPECT_EQ(r.unexpected_elements[0].element, Value::of(2));
  EXPECT_EQ(r.unexpected_elements[1].element, Value::of(99));
  EXPECT_EQ(r.unexpected_elements[1].add_index, -1);
}

TEST(SetFull, IndeterminateAddsAreJudgedFromTheirFirstSighting) {
  HistoryBuilder h;
  h.op(1, 0, 10, Type::info, "add", Value::of(1));  // took effect, as a read shows
  h.op(3, 0, 10, Type::info, "add", Value::of(2));  // never seen: no verdict
  h.op(4, 1, 11, Type::info, "add", Value::of(3));  // seen, then gone: lost
  h.op(2, 20, 30, Type::ok, "read", {}, list({1, 3}));
  h.op(2, 40, 50, Type::ok, "read", {}, list({1}));
  auto r = run(h);
  EXPECT_EQ(r.acknowledged, 0u);
  EXPECT_EQ(r.attempted, 3u);
  EXPECT_EQ(r.unconfirmed, 1u);
  EXPECT_EQ(r.stable, 1u);
  EXPECT_EQ(r.lost, 1u);
  EXPECT_EQ(r.verdict, Verdict::invalid);
}

TEST(SetFull, FailedAndIndeterminateReadsObserveNothing) {
  HistoryBuilder h;
  h.op(1, 0, 10, Type::ok, "add", Value::of(1));
  h.op(2, 20, 30, Type::fail, "read", {}, Value::null());
  h.invoke(3, 40, "read");  // never completes
  h.op(4, 50, 60, Type::ok, "read", {}, list({1}));
  auto r = run(h);
  EXPECT_EQ(r.reads, 1u);
  EXPECT_EQ(r.stable, 1u);
  EXPECT_EQ(r.verdict, Verdict::valid);
}

TEST(SetFull, KeysAreIndependent) {
  HistoryBuilder h;
  h.key("a").op(1, 0, 10, Type::ok, "add", Value::of(1));
  h.key("b").op(2, 0, 10, Type::ok, "add", Value::of(1));
  h.key("a").op(3, 20, 30, Type::ok, "read", {}, list({1}));
  h.key("b").op(4, 20, 30, Type::ok, "read", {}, list({}));
  auto r = run(h);
  EXPECT_EQ(r.keys, 2u);
  EXPECT_EQ(r.stable, 1u);
  EXPECT_EQ(r.lost, 1u);
  ASSERT_EQ(r.lost_elements.size(), 1u);
  EXPECT_EQ(r.lost_elements[0].key, "b");
}

TEST(SetFull, ManyReadsOfManyElements) {
  // Element i is added at [10i, 10i+5]; every read at 10j+7 holds 0..j, except that element 3 is
  // missing from reads 5 and 6 (stale) and element 8 from every read from 12 on (lost).
  HistoryBuilder h;
  for (int i = 0; i < 20; ++i) {
    h.op(1, 10 * i, 10 * i + 5, Type::ok, "add", Value::of(i));
    std::vector<Value> seen;
    for (int e = 0; e <= i; ++e) {
      if ((e == 3 && (i == 5 || i == 6)) || (e == 8 && i >= 12)) continue;
      seen.push_back(Value::of(e));
    }
    h.op(2, 10 * i + 7, 10 * i + 8, Type::ok, "read", {}, Value::of(std::move(seen)));
  }
  auto r = run(h);
  EXPECT_EQ(r.stable, 18u);
  EXPECT_EQ(r.stale, 1u);
  EXPECT_EQ(r.lost, 1u);
  EXPECT_EQ(r.stale_elements.at(0).element, Value::of(3));
  EXPECT_EQ(r.lost_elements.at(0).element, Value::of(8));
  EXPECT_EQ(r.lost_elements.at(0).read_index, 79);  // the last read's completion
}

TEST(SetFull, MalformedHistoriesAreUnknown) {
  HistoryBuilder twice, not_a_list, other_f, unpaired;
  twice.op(1, 0, 1, Type::ok, "add", Value::of(1)).op(1, 2, 3, Type::ok, "add", Value::of(1));
  not_a_list.op(1, 0, 1, Type::ok, "read", {}, Value::of(5));
  other_f.op(1, 0, 1, Type::ok, "write", Value::of(5));
  unpaired.complete(1, 0, Type::ok, "read", list({}));
  for (auto* h : {&twice, &not_a_list, &other_f}) {
    auto r = run(*h);
    EXPECT_EQ(r.verdict, Verdict::unknown);
    EXPECT_FALSE(r.reason.empty());
  }
  EXPECT_NE(run(twice).reason.find("added twice"), std::string::npos);
  EXPECT_EQ(run(HistoryBuilder{}).verdict, Verdict::unknown);
  // An unpaired completion is the reader's error (history::compact), before any checker.
  EXPECT_FALSE(history::compact(unpaired.ops));
}

TEST(SetFull, TooSmallAMemoryBudgetIsUnknown) {
  HistoryBuilder h;
  h.op(1, 0, 10, Type::ok, "add", Value::of(1));
  h.op(2, 20, 30, Type::ok, "read", {}, list({1}));
  SetFullOptions opts;
  opts.memory_budget = 16;
  auto r = run(h, opts);
  EXPECT_EQ(r.verdict, Verdict::unknown);
  EXPECT_NE(r.reason.find("memory budget"), std::string::npos);
}

TEST(SetFull, ThroughTheRegistry) {
  plan::CheckSpec spec;
  spec.kind = "set-full";
  auto checker = make_checker(spec);
  ASSERT_TRUE(checker) << checker.error().message;
  HistoryBuilder h;
  h.op(1, 0, 10, Type::ok, "add", Value::of(1));
  h.op(2, 20, 30, Type::ok, "read", {}, list({}));
  Result res = (*checker)->check(Input{compacted(h.ops), kNoEvents});
  EXPECT_EQ(res.name, "set-full");
  EXPECT_EQ(res.verdict, Verdict::invalid);
  EXPECT_NE(res.summary.find("1 lost"), std::string::npos) << res.summary;
  auto details = boost::json::parse(res.details_json).as_object();
  EXPECT_EQ(details.at("lost").to_number<int64_t>(), 1);
  EXPECT_EQ(details.at("lost_elements").as_array().at(0).at("element").to_number<int64_t>(), 1);
}

}  // namespace
}  // namespace fl::check
