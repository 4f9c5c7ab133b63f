// Turns SIGINT, SIGTERM and SIGHUP into an orderly stop. The first signal runs the stop action on
// a thread of its own; a second one ends the process at once (children then die by
// PR_SET_PDEATHSIG). Handlers are installed with sigaction rather than by blocking signals, so
// children never inherit a blocked signal mask.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace fl::cli {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // The action to run on the first signal. If a signal already arrived, it runs now.
  void on_stop(std::function<void()> action);
  bool requested() const;
  // Blocks until a signal arrived and the stop action returned.
  void wait_done();
  // "SIGINT", "SIGTERM", "SIGHUP", or "" when no signal arrived.
  std::string signal_name() const;

 private:
  void watch();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> action_;
  int signal_ = 0;
  bool done_ = false;
  bool closing_ = false;
  int pipe_[2] = {-1, -1};
  std::thread watcher_;
};

}  // namespace fl::cli
