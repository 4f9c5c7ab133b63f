#include "harness/check/total_queue.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness/check/test_history.h"

namespace fl::check {
namespace {

using namespace testing;
const std::vector<RunEvent> kNoEvents;

TotalQueueReport run(const HistoryBuilder& h) {
  return check_total_queue(Input{compacted(h.ops), kNoEvents}, TotalQueueOptions{});
}

HistoryBuilder& enqueue(HistoryBuilder& h, int64_t v, Type t = Type::ok) {
  const double at = static_cast<double>(h.ops.size());
  return h.op(1, at, at + 0.5, t, "enqueue", Value::of(v));
}

HistoryBuilder& dequeue(HistoryBuilder& h, std::optional<int64_t> v, Type t = Type::ok) {
  const double at = static_cast<double>(h.ops.size());
  return h.op(2, at, at + 0.5, t, "dequeue", {}, v ? Value::of(*v) : Value::null());
}

TEST(TotalQueue, EverythingOutOnceIsValid) {
  HistoryBuilder h;
  enqueue(h, 1);
  enqueue(h, 2);
  dequeue(h, 2);  // order is not judged
  dequeue(h, 1);
  dequeue(h, std::nullopt);
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::valid) << r.reason;
  EXPECT_EQ(r.attempted, 2u);
  EXPECT_EQ(r.acknowledged, 2u);
  EXPECT_EQ(r.dequeued, 2u);
  EXPECT_EQ(r.empty, 1u);
  EXPECT_EQ(r.lost + r.duplicated + r.unexpected, 0u);
}

TEST(TotalQueue, AcknowledgedButNeverDequeuedIsLost) {
  HistoryBuilder h;
  enqueue(h, 1);
  enqueue(h, 2);
  dequeue(h, 1);
  dequeue(h, std::nullopt);
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::invalid);
  EXPECT_EQ(r.lost, 1u);
  ASSERT_EQ(r.lost_elements.size(), 1u);
  EXPECT_EQ(r.lost_elements[0].element, Value::of(2));
  EXPECT_EQ(r.lost_elements[0].index, 2);
}

TEST(TotalQueue, DuplicatesAreCountedButAllowed) {
  HistoryBuilder h;
  enqueue(h, 1);
  dequeue(h, 1);
  dequeue(h, 1);
  dequeue(h, std::nullopt);
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::valid);
  EXPECT_EQ(r.duplicated, 1u);
  ASSERT_EQ(r.duplicated_elements.size(), 1u);
  EXPECT_EQ(r.duplicated_elements[0].times, 2u);
}

TEST(TotalQueue, ValuesNeverEnqueuedOrFailedAreUnexpected) {
  HistoryBuilder h;
  enqueue(h, 1, Type::fail);
  dequeue(h, 1);
  dequeue(h, 42);
  dequeue(h, std::nullopt);
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::invalid);
  EXPECT_EQ(r.unexpected, 2u);
  EXPECT_EQ(r.unexpected_elements.at(1).element, Value::of(42));
}

TEST(TotalQueue, IndeterminateEnqueuesMayComeOutOrNot) {
  HistoryBuilder h;
  enqueue(h, 1, Type::info);
  enqueue(h, 2, Type::info);
  dequeue(h, 1);
  dequeue(h, std::nullopt);
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::valid);
  EXPECT_EQ(r.recovered, 1u);
  EXPECT_EQ(r.lost, 0u);
}

TEST(TotalQueue, WithoutAFinalDrainMissingValuesAreUnknown) {
  HistoryBuilder h;
  enqueue(h, 1);
  enqueue(h, 2);
  dequeue(h, 1);
  auto r = run(h);
  EXPECT_EQ(r.verdict, Verdict::unknown);
  EXPECT_EQ(r.undrained_keys, 1u);
  EXPECT_EQ(r.undrained_values, 1u);
  EXPECT_EQ(r.lost, 0u);
}

TEST(TotalQueue, IndeterminateDequeuesMayHaveTakenWhatIsMissing) {
  HistoryBuilder h;
  enqueue(h, 1);
  enqueue(h, 2);
  enqueue(h, 3);
  dequeue(h, 1);
  dequeue(h, std::nullopt, Type::info);  // may have taken 2 or 3, but not both
  dequeue(h, std::nullopt);
  auto r = run(h);
  EXPECT_EQ(r.lost, 2u);
  EXPECT_EQ(r.maybe_taken, 1u);
  EXPECT_EQ(r.verdict, Verdict::invalid);

  HistoryBuilder one;
  enqueue(one, 1);
  dequeue(one, std::nullopt, Type::info);
  dequeue(one, std::nullopt);
  auto u = run(one);
  EXPECT_EQ(u.lost, 1u);
  EXPECT_EQ(u.maybe_taken, 1u);
  EXPECT_EQ(u.verdict, Verdict::unknown);
}

TEST(TotalQueue, KeysAreSeparateQueues) {
  HistoryBuilder h;
  h.key("a");
  enqueue(h, 1);
  h.key("b");
  dequeue(h, 1);  // 1 went into a, not b
  dequeue(h, std::nullopt);
  h.key("a");
  dequeue(h, std::nullopt);
  auto r = run(h);
  EXPECT_EQ(r.keys, 2u);
  EXPECT_EQ(r.unexpected, 1u);
  EXPECT_EQ(r.lost, 1u);
  EXPECT_EQ(r.unexpected_elements.at(0).key, "b");
  EXPECT_EQ(r.lost_elements.at(0).key, "a");
}

TEST(TotalQueue, MalformedOrEmptyHistoriesAreUnknown) {
  HistoryBuilder twice, other;
  enqueue(twice, 1);
  enqueue(twice, 1);
  other.op(1, 0, 1, Type::ok, "read", {}, Value::null());
  EXPECT_EQ(run(twice).verdict, Verdict::unknown);
  EXPECT_NE(run(twice).reason.find("enqueued twice"), std::string::npos);
  EXPECT_EQ(run(other).verdict, Verdict::unknown);
  EXPECT_EQ(run(HistoryBuilder{}).verdict, Verdict::unknown);
}

TEST(TotalQueue, ThroughTheRegistry) {
  plan::CheckSpec spec;
  spec.kind = "total-queue";
  auto checker = make_checker(spec);
  ASSERT_TRUE(checker) << checker.error().message;
  HistoryBuilder h;
  enqueue(h, 1);
  dequeue(h, 1);
  dequeue(h, 1);
  dequeue(h, std::nullopt);
  Result res = (*checker)->check(Input{compacted(h.ops), kNoEvents});
  EXPECT_EQ(res.name, "total-queue");
  EXPECT_EQ(res.verdict, Verdict::valid);
  EXPECT_NE(res.summary.find("1 duplicated"), std::string::npos) << res.summary;
  auto details = boost::json::parse(res.details_json).as_object();
  EXPECT_EQ(details.at("duplicated_elements").as_array().at(0).at("times").to_number<int64_t>(), 2);
}

}  // namespace
}  // namespace fl::check
