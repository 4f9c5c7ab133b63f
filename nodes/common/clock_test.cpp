#include "nodes/common/clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "common/resp/resp.h"
#include "nodes/common/command_table.h"

namespace fl::nodes {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kMs = 1'000'000;

// Real time that moves only when told.
class FakeRealTime final : public RealTime {
 public:
  int64_t steady_ns() const override { return steady; }
  int64_t wall_ns() const override { return wall; }
  void advance(int64_t ns) {
    steady += ns;
    wall += ns;
  }
  int64_t steady = 5'000 * kMs;
  int64_t wall = 1'700'000'000'000 * kMs;
};

TEST(SkewedClock, ReadsRealTimeUntilSkewed) {
  FakeRealTime real;
  SkewedClock clock(real);
  EXPECT_EQ(clock.steady_ns(), real.steady);
  EXPECT_EQ(clock.wall_ns(), real.wall);
  EXPECT_EQ(clock.wall_ms(), 1'700'000'000'000);
  EXPECT_EQ(clock.skew(), ClockSkew{});
  real.advance(7 * kMs);
  EXPECT_EQ(clock.steady_ms(), 5'007);
}

TEST(SkewedClock, OffsetStepsBothReaders) {
  FakeRealTime real;
  SkewedClock clock(real);
  clock.set({2s, 1.0});
  EXPECT_EQ(clock.steady_ns(), real.steady + 2'000 * kMs);
  EXPECT_EQ(clock.wall_ns(), real.wall + 2'000 * kMs);
  real.advance(300 * kMs);
  EXPECT_EQ(clock.steady_ns(), real.steady + 2'000 * kMs);
  clock.set({-1500ms, 1.0});
  EXPECT_EQ(clock.wall_ns(), real.wall - 1'500 * kMs);
  EXPECT_EQ((ClockSkew{-1500ms, 1.0}), clock.skew());
}

TEST(SkewedClock, RateRunsFromTheMomentItIsSet) {
  FakeRealTime real;
  SkewedClock clock(real);
  real.advance(10'000 * kMs);  // real time before the skew is not scaled
  const int64_t set_at = real.steady;
  clock.set({0ms, 0.5});
  EXPECT_EQ(clock.steady_ns(), set_at);
  real.advance(1'000 * kMs);
  EXPECT_EQ(clock.steady_ns(), set_at + 500 * kMs);
  EXPECT_EQ(clock.wall_ms(), 1'700'000'000'000 + 10'000 + 500);

  clock.set({100ms, 3.0});
  const int64_t wall_at = real.wall;
  real.advance(200 * kMs);
  EXPECT_EQ(clock.wall_ns(), wall_at + 100 * kMs + 600 * kMs);
}

TEST(SkewedClock, ResetReturnsToRealTime) {
  FakeRealTime real;
  SkewedClock clock(real);
  clock.set({-5s, 2.0});
  real.advance(1'000 * kMs);
  EXPECT_NE(clock.steady_ns(), real.steady);
  clock.reset();
  EXPECT_EQ(clock.steady_ns(), real.steady);
  EXPECT_EQ(clock.wall_ns(), real.wall);
  EXPECT_EQ(clock.skew(), ClockSkew{});
}

TEST(SkewedClock, MillisecondsRoundTowardMinusInfinity) {
  FakeRealTime real;
  real.steady = 0;
  SkewedClock clock(real);
  clock.set({-1ms, 1.0});
  real.steady = 1;  // 1 ns - 1 ms: just below zero
  EXPECT_EQ(clock.steady_ms(), -1);
}

TEST(MakeClockSkew, RejectsRatesAndOffsetsOutOfBounds) {
  EXPECT_TRUE(make_clock_skew(-2000, 1.5));
  EXPECT_FALSE(make_clock_skew(0, 0.0));
  EXPECT_FALSE(make_clock_skew(0, -1.0));
  EXPECT_FALSE(make_clock_skew(0, 1e6));
  EXPECT_FALSE(make_clock_skew(0, std::numeric_limits<double>::quiet_NaN()));
  EXPECT_FALSE(make_clock_skew(0, std::numeric_limits<double>::infinity()));
  EXPECT_FALSE(make_clock_skew(kMaxClockOffset.count() + 1, 1.0));
  EXPECT_FALSE(make_clock_skew(-kMaxClockOffset.count() - 1, 1.0));
}

// Readers on other threads never see half of one skew and half of another.
TEST(SkewedClock, ReadersSeeWholeSkewsWhileItIsSet) {
  FakeRealTime real;  // never advanced: read concurrently
  SkewedClock clock(real);
  const ClockSkew a{1000ms, 2.0}, b{-3000ms, 0.5};
  clock.set(a);
  std::atomic<bool> stop{false};
  std::atomic<int> torn{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        const ClockSkew s = clock.skew();
        if (!(s == a || s == b)) torn.fetch_add(1);
        const int64_t w = clock.wall_ns() - real.wall;  // anchors equal real: just the offset
        if (w != 1000 * kMs && w != -3000 * kMs) torn.fetch_add(1);
      }
    });
  }
  for (int i = 0; i < 20000; ++i) clock.set(i % 2 ? a : b);
  stop.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0);
}

// Runs one command through a table holding only CLOCK; returns the parsed reply.
class ClockCommand : public ::testing::Test {
 protected:
  ClockCommand() : clock_(real_) { add_clock_command(table_, clock_); }

  resp::Value run(std::vector<std::string> words) {
    std::vector<std::string_view> argv(words.begin(), words.end());
    std::string out;
    resp::Writer w(out);
    Session session;
    table_.dispatch(argv, w, session, &out);
    resp::Parser parser;
    parser.feed(out);
    resp::Value v;
    EXPECT_EQ(parser.next(v), resp::Status::ok) << out;
    return v;
  }

  FakeRealTime real_;
  SkewedClock clock_;
  CommandTable table_;
};

TEST_F(ClockCommand, SetThenGet) {
  resp::Value ok = run({"CLOCK", "SET", "-2000", "1.5"});
  ASSERT_EQ(ok.type, resp::Type::simple_string);
  EXPECT_EQ(ok.str, "OK");
  EXPECT_EQ(clock_.skew(), (ClockSkew{-2000ms, 1.5}));

  real_.advance(1'000 * kMs);
  resp::Value got = run({"clock", "get"});
  ASSERT_EQ(got.type, resp::Type::array);
  ASSERT_EQ(got.elements.size(), 3u);
  EXPECT_EQ(got.elements[0].integer, -2000);
  EXPECT_EQ(got.elements[1].str, "1.5");
  EXPECT_EQ(got.elements[2].integer, 1'700'000'000'000 - 2'000 + 1'500);

  EXPECT_EQ(run({"CLOCK", "RESET"}).str, "OK");
  EXPECT_EQ(clock_.skew(), ClockSkew{});
  EXPECT_EQ(run({"CLOCK", "GET"}).elements[2].integer, 1'700'000'000'000 + 1'000);
}

TEST_F(ClockCommand, AcceptsAPlusSignAndIntegerRates) {
  EXPECT_EQ(run({"CLOCK", "SET", "+250", "2"}).str, "OK");
  EXPECT_EQ(clock_.skew(), (ClockSkew{250ms, 2.0}));
}

TEST_F(ClockCommand, BadArgumentsAnswerErrAndChangeNothing) {
  clock_.set({10ms, 1.0});
  for (std::vector<std::string> bad : {
           std::vector<std::string>{"CLOCK", "SET", "abc", "1"},
           {"CLOCK", "SET", "10", "fast"},
           {"CLOCK", "SET", "10", "0"},
           {"CLOCK", "SET", "10", "-1"},
           {"CLOCK", "SET", "10", "nan"},
           {"CLOCK", "SET", "1.5", "1"},
           {"CLOCK", "SET", "+-5", "1"},
           {"CLOCK", "SET", "99999999999999999999", "1"},
           {"CLOCK", "SET", "10"},
           {"CLOCK", "SET", "10", "1", "extra"},
           {"CLOCK", "GET", "extra"},
           {"CLOCK", "RESET", "now"},
           {"CLOCK", "WARP"},
           {"CLOCK"},
       }) {
    resp::Value v = run(bad);
    EXPECT_EQ(v.type, resp::Type::error) << bad.size() << " " << bad.back();
    EXPECT_EQ(v.str.rfind("ERR", 0), 0u) << v.str;
    EXPECT_EQ(clock_.skew(), (ClockSkew{10ms, 1.0})) << bad.back();
  }
}

}  // namespace
}  // namespace fl::nodes
