#include "harness/load/schedule.h"

#include <gtest/gtest.h>

namespace fl::load {
namespace {

using namespace std::chrono_literals;
using TP = OpenLoopSchedule::TimePoint;

TP at(std::chrono::nanoseconds d) { return TP{} + d; }

TEST(OpenLoopSchedule, ReleasesOperationsAtTheRate) {
  OpenLoopSchedule s(1000, at(0ms), 100);  // one every 1ms
  std::vector<OpenLoopSchedule::Start> out;
  EXPECT_EQ(s.next_due(), at(0ms));
  s.advance(at(0ms), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].intended, at(0ms));
  EXPECT_FALSE(out[0].late);
  EXPECT_EQ(s.next_due(), at(1ms));
  out.clear();
  s.advance(at(999us), out);
  EXPECT_TRUE(out.empty());
  s.advance(at(10ms), out);  // catching up: 1ms .. 10ms, 10 operations
  ASSERT_EQ(out.size(), 10u);
  EXPECT_EQ(out.front().intended, at(1ms));
  EXPECT_EQ(out.back().intended, at(10ms));
  // Those more than 1ms overdue count late; their latency still counts from `intended`.
  EXPECT_TRUE(out.front().late);
  EXPECT_FALSE(out.back().late);
  EXPECT_EQ(s.late(), 8);
  EXPECT_EQ(s.released(), 11);
  EXPECT_EQ(s.in_flight(), 11);
}

TEST(OpenLoopSchedule, RateDoesNotDriftOverManyOperations) {
  OpenLoopSchedule s(3, at(0s), 1);  // 333.33..ms apart: rounding must not accumulate
  std::vector<OpenLoopSchedule::Start> out;
  for (int i = 0; i < 3000; ++i) {
    out.clear();
    s.advance(s.next_due(), out);
    ASSERT_EQ(out.size(), 1u);
    s.finished();
  }
  EXPECT_EQ(s.next_due(), at(1000s));
}

TEST(OpenLoopSchedule, BusyProcessesMakeStartsLateNotDropped) {
  OpenLoopSchedule s(1000, at(0ms), 2);
  std::vector<OpenLoopSchedule::Start> out;
  s.advance(at(0ms), out);
  s.advance(at(1ms), out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(s.in_flight(), 2);
  out.clear();
  s.advance(at(3ms), out);  // 2ms and 3ms are due; both processes are busy
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(s.backlog(), 2u);
  EXPECT_EQ(s.late(), 2);
  // A process frees up: it takes the oldest waiting start, marked late, with its own time.
  auto next = s.finished();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->intended, at(2ms));
  EXPECT_TRUE(next->late);
  next = s.finished();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->intended, at(3ms));
  EXPECT_FALSE(s.finished());  // nothing waits: one process is free
  EXPECT_EQ(s.in_flight(), 1);
  out.clear();
  s.advance(at(4ms), out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].late);
  EXPECT_EQ(s.late(), 2);
}

TEST(OpenLoopSchedule, WaitingStartsKeepTheirOrderBehindNewOnes) {
  OpenLoopSchedule s(1000, at(0ms), 1);
  std::vector<OpenLoopSchedule::Start> out;
  s.advance(at(0ms), out);
  s.advance(at(2ms), out);  // 1ms and 2ms wait
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(s.backlog(), 2u);
  auto a = s.finished();
  ASSERT_TRUE(a);
  // Even with the process free for a moment, a new start does not overtake the backlog.
  out.clear();
  s.advance(at(3ms), out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(s.backlog(), 2u);
  EXPECT_EQ(s.finished()->intended, at(2ms));
  EXPECT_EQ(s.finished()->intended, at(3ms));
}

}  // namespace
}  // namespace fl::load
