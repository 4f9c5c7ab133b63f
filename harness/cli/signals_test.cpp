// SeriesStop: a real SIGINT (raised in this process) reaches the run in progress, a run that
// is still starting, and never the end-early function of a run that already returned.
#include "harness/cli/signals.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace fl::cli {
namespace {

using namespace std::chrono_literals;

// A stand-in for run::execute(): hands over its end-early function, then waits (with a generous
// deadline) until it is called. Returns whether it was.
struct FakeRun {
  std::mutex mu;
  std::condition_variable cv;
  bool ended = false;

  std::function<void()> end_early() {
    return [this] {
      std::lock_guard lock(mu);
      ended = true;
      cv.notify_all();
    };
  }
  bool wait_ended() {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 30s, [&] { return ended; });
  }
};

TEST(SeriesStop, SignalEndsTheRunInProgress) {
  StopSignals signals;
  SeriesStop series(signals, "");
  FakeRun run;
  const bool ended = series.run_one([&](const SeriesStop::Hook& hook) {
    hook(run.end_early());
    ::raise(SIGINT);
    return run.wait_ended();
  });
  EXPECT_TRUE(ended);
  EXPECT_TRUE(series.interrupted());
}

TEST(SeriesStop, SignalBeforeTheRunStartsEndsItWhenItHandsOverItsHook) {
  StopSignals signals;
  SeriesStop series(signals, "");
  ::raise(SIGINT);
  signals.wait_done();
  EXPECT_TRUE(series.interrupted());
  FakeRun run;
  const bool ended = series.run_one([&](const SeriesStop::Hook& hook) {
    hook(run.end_early());
    return run.wait_ended();
  });
  EXPECT_TRUE(ended);
}

TEST(SeriesStop, SignalAfterARunReturnedDoesNotReachIt) {
  StopSignals signals;
  SeriesStop series(signals, "");
  std::atomic<bool> called = false;
  const int result = series.run_one([&](const SeriesStop::Hook& hook) {
    hook([&] { called = true; });
    return 7;
  });
  EXPECT_EQ(result, 7);
  EXPECT_FALSE(series.interrupted());
  ::raise(SIGINT);
  signals.wait_done();
  EXPECT_TRUE(series.interrupted());
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace fl::cli
