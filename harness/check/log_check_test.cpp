#include "harness/check/log_check.h"

#include <gtest/gtest.h>

#include "harness/check/test_history.h"

namespace fl::check {
namespace {

using namespace testing;

Value str(std::string s) { return Value::of(std::move(s)); }
Value produced(std::string k, int64_t n) {
  return Value::of(std::vector<Value>{str(std::move(k)), Value::of(n)});
}
Value acked(std::string k, int64_t n, std::string id) {
  return Value::of(std::vector<Value>{str(std::move(k)), Value::of(n), str(std::move(id))});
}
Value e(std::string id, int64_t n) {
  return Value::of(std::vector<Value>{str(std::move(id)), str("k"), Value::of(n)});
}
Value entries(std::vector<Value> es) { return Value::of(std::move(es)); }
Value page_of(std::string start, int64_t count) {
  return Value::of(std::vector<Value>{str(std::move(start)), Value::of(count)});
}

class LogHistory {
 public:
  LogHistory() { b.key("log"); }
  LogHistory& produce(int64_t p, double at, Type t, int64_t n, std::string id = "") {
    Value done = t == Type::ok ? acked("k", n, id) : Value::null();
    b.op(p, at, at + 1, t, "produce", produced("k", n), done);
    return *this;
  }
  LogHistory& consume(int64_t p, double call, double ret, std::vector<Value> es,
                      Type t = Type::ok) {
    b.op(p, call, ret, t, "consume", Value::null(),
         t == Type::ok ? entries(std::move(es)) : Value::null());
    return *this;
  }
  LogHistory& replay(int64_t p, double at, std::string start, int64_t count,
                     std::vector<Value> es) {
    b.op(p, at, at + 1, Type::ok, "replay", page_of(std::move(start), count),
         entries(std::move(es)));
    return *this;
  }
  LogReport check() {
    auto h = compacted(b.ops);
    std::vector<RunEvent> events;
    return check_log({h, events}, LogOptions{});
  }
  HistoryBuilder b;
};

TEST(LogCheck, EverythingConsumedAndReplayedIsValid) {
  LogHistory h;
  h.produce(0, 1, Type::ok, 1, "0-0").produce(0, 3, Type::ok, 2, "1-0").produce(0, 5, Type::ok, 3,
                                                                               "0-1");
  h.consume(1, 10, 11, {e("0-0", 1), e("1-0", 2)}).consume(1, 12, 13, {e("0-1", 3)});
  h.consume(1, 14, 15, {});
  h.replay(2, 20, "-", 2, {e("0-0", 1), e("0-1", 3)}).replay(2, 22, "(0-1", 2, {e("1-0", 2)});
  auto r = h.check();
  EXPECT_EQ(r.verdict, Verdict::valid) << r.reason;
  EXPECT_EQ(r.acknowledged, 3u);
  EXPECT_EQ(r.consumed, 3u);
  EXPECT_EQ(r.replayed, 3u);
  EXPECT_TRUE(r.replay_complete);
  EXPECT_EQ(r.lost + r.reordered + r.not_replayed + r.mismatched + r.unexpected, 0u);
}

TEST(LogCheck, AnAcknowledgedValueNeitherReplayedNorConsumedIsLost) {
  LogHistory h;
  h.produce(0, 1, Type::ok, 1, "0-0").produce(0, 3, Type::ok, 2, "0-1").produce(0, 5, Type::info, 3);
  h.consume(1, 10, 11, {e("0-0", 1)});
  h.replay(2, 20, "-", 10, {e("0-0", 1)});
  auto r = h.check();
  EXPECT_EQ(r.verdict, Verdict::invalid);
  EXPECT_EQ(r.lost, 1u);
  ASSERT_EQ(r.lost_items.size(), 1u);
  EXPECT_EQ(r.lost_items[0].value, 2);
  EXPECT_EQ(r.lost_items[0].id, "0-1");
  EXPECT_EQ(r.recovered, 0u);  // the info produce was not seen, and is not lost either
}

TEST(LogCheck, DuplicateDeliveriesAreCountedNotViolations) {
  LogHistory h;
  h.produce(0, 1, Type::ok, 1, "0-0").produce(0, 3, Type::ok, 2, "0-1");
  h.consume(1, 10, 11, {e("0-0", 1)}).consume(2, 12, 13, {e("0-0", 1), e("0-1", 2)});
  h.replay(3, 20, "-", 10, {e("0-0", 1), e("0-1", 2)});
  auto r = h.check();
  EXPECT_EQ(r.verdict, Verdict::valid) << r.reason;
  EXPECT_EQ(r.redelivered, 1u);
  EXPECT_EQ(r.deliveries, 3u);
}

TEST(LogCheck, ConsumedButMissingFromTheReplayIsInvalid) {
  LogHistory h;
  h.produce(0, 1, Type::ok, 1, "0-0").produce(0, 3, Type::ok, 2, "0-1");
  h.consume(1, 10, 11, {e("0-0", 1), e("0-1", 2)});
  h.replay(3, 20, "-", 10, {e("0-0", 1)});
  auto r = h.check();
  EXPECT_EQ(r.verdict, Verdict::invalid);
  EXPECT_EQ(r.not_replayed, 1u);
  EXPECT_EQ(r.lost, 0u);  // consumed, so not lost
  EXPECT_EQ(r.not_replayed_items.at(0).id, "0-1");
}

TEST(LogCheck, AReplayHoldingAnotherValueAtAnAcknowledgedIdIsMismatched) {
  LogHistory h;
  h.produce(0, 1, Type::ok, 1, "0-0").produce(0, 3, Type::ok, 2, "0-1");
  h.replay(3, 20, "-", 10, {e("0-0", 2), e("0-1", 1)});
  auto r = h.check();
  EXPECT_EQ(r.verdict, Verdict::invalid);
  EXPECT_EQ(r.mismatched, 2u);
}

TEST(LogCheck, FirstDeliveryBelowAnOffsetAlreadyConsumedIsReordered) {
  LogHistory h;
  h.produce(0, 1, Type::ok, 1, "0-0").produce(0, 3, Type::ok, 2, "0-1").produce(0, 4, Type::ok, 3,
                                                                               "1-0");
  // 0-1 is delivered and returned before 0-0 is delivered for the first time.
  h.consume(1, 10, 11, {e("0-1", 2), e("1-0", 3)}).consume(1, 12, 13, {e("0-0", 1)});
  h.replay(3, 20, "-", 10, {e("0-0", 1), e("0-1", 2), e("1-0", 3)});
  auto r = h.check();
  EXPECT_EQ(r.verdict, Verdict::invalid);
  EXPECT_EQ(r.reordered, 1u);
  EXPECT_EQ(r.reordered_items.at(0).id, "0-0");
}

TEST(LogCheck, OverlappingConsumesAndOtherPartitionsAreNotReorderings) {
  LogHistory h;
  h.produce(0, 1, Type::ok, 1, "0-0").produce(0, 3, Type::ok, 2, "0-1").produce(0, 4, Type::ok, 3,
                                                                               "1-0");
  // Concurrent consumes may return in either order; another partition has its own offsets.
  h.consume(1, 10, 14, {e("0-1", 2)}).consume(2, 11, 12, {e("0-0", 1)});
  h.consume(1, 15, 16, {e("1-0", 3)});
  h.replay(3, 20, "-", 10, {e("0-0", 1), e("0-1", 2), e("1-0", 3)});
  auto r = h.check();
  EXPECT_EQ(r.verdict, Verdict::valid) << r.reason;
  EXPECT_EQ(r.reordered, 0u);
}

TEST(LogCheck, AConsumeOfUnknownOutcomeExplainsALateFirstDelivery) {
  LogHistory h;
  h.produce(0, 1, Type::ok, 1, "0-0").produce(0, 3, Type::ok, 2, "0-1");
  h.consume(1, 5, 6, {}, Type::info);  // may have taken 0-0 and never acknowledged it
  h.consume(2, 10, 11, {e("0-1", 2)}).consume(2, 12, 13, {e("0-0", 1)});
  h.replay(3, 20, "-", 10, {e("0-0", 1), e("0-1", 2)});
  auto r = h.check();
  EXPECT_EQ(r.verdict, Verdict::valid) << r.reason;
  EXPECT_EQ(r.maybe_redelivered, 1u);
}

TEST(LogCheck, ValuesNeverProducedAreUnexpected) {
  LogHistory h;
  h.produce(0, 1, Type::ok, 1, "0-0").produce(0, 3, Type::fail, 2);
  h.consume(1, 10, 11, {e("0-0", 1), e("0-1", 2)});
  h.replay(3, 20, "-", 10, {e("0-0", 1), e("0-1", 2), e("0-2", 99)});
  auto r = h.check();
  EXPECT_EQ(r.verdict, Verdict::invalid);
  EXPECT_EQ(r.unexpected, 2u);  // 2 (failed) once though seen twice, and 99
}

TEST(LogCheck, AnIncompleteReplayLeavesUnseenValuesUnknown) {
  LogHistory h;
  h.produce(0, 1, Type::ok, 1, "0-0").produce(0, 3, Type::ok, 2, "0-1");
  h.replay(3, 20, "-", 1, {e("0-0", 1)});  // a full page, and no next page
  auto r = h.check();
  EXPECT_EQ(r.verdict, Verdict::unknown);
  EXPECT_FALSE(r.replay_complete);
  EXPECT_EQ(r.unseen, 1u);
  EXPECT_EQ(r.lost, 0u);
}

TEST(LogCheck, RepeatedProducedValuesAreUnknown) {
  LogHistory h;
  h.produce(0, 1, Type::ok, 1, "0-0").produce(0, 3, Type::ok, 1, "0-1");
  EXPECT_EQ(h.check().verdict, Verdict::unknown);
}

TEST(LogCheck, AValueStoredTwiceIsALogDuplicate) {
  LogHistory h;
  h.produce(0, 1, Type::ok, 1, "0-0");
  h.replay(3, 20, "-", 10, {e("0-0", 1), e("0-1", 1)});
  auto r = h.check();
  EXPECT_EQ(r.verdict, Verdict::valid) << r.reason;
  EXPECT_EQ(r.log_duplicates, 1u);
  EXPECT_EQ(r.unconsumed, 1u);
}

}  // namespace
}  // namespace fl::check
