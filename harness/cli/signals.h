// Turns SIGINT, SIGTERM and SIGHUP into an orderly stop. The first signal runs the stop action on
// a thread of its own; a second one ends the process at once (children then die by
// PR_SET_PDEATHSIG). Handlers are installed with sigaction rather than by blocking signals, so
// children never inherit a blocked signal mask.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

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

// Ctrl-C for a series of runs one after another (`run --repeat`, `sweep`): the first signal ends
// the current run early (what it recorded is still checked) and marks the series interrupted,
// so the caller starts no further run. A signal that comes while a run is starting reaches it
// as soon as the run hands over its end-early function; that function is dropped as soon as
// the run returns, because it points into the run's stack.
class SeriesStop {
 public:
  // The hook run::execute() takes: it receives the function that ends that run early.
  using Hook = std::function<void(std::function<void()>)>;

  // Takes over `signals`' stop action; `message` is printed on stderr when a signal arrives.
  SeriesStop(StopSignals& signals, std::string message);
  // Gives `signals` a stop action that does nothing.
  ~SeriesStop();
  SeriesStop(const SeriesStop&) = delete;
  SeriesStop& operator=(const SeriesStop&) = delete;

  // Returns run(hook) for the hook to pass to execute(); a signal before run() returns ends
  // this run early. The run's end-early function is dropped when run() returns or throws.
  template <class Run>
  decltype(auto) run_one(Run&& run) {
    struct Drop {
      SeriesStop& s;
      ~Drop() { s.set_current(nullptr); }
    } drop{*this};
    return std::forward<Run>(run)(hook());
  }

  // True once a signal arrived: start no more runs.
  bool interrupted() const;

 private:
  // Shared with the signal thread's action, which may still be running when this is gone.
  struct State {
    std::string message;
    std::mutex mu;                      // guards `end_current`
    std::function<void()> end_current;  // the current run's end-early function, if any
    std::atomic<bool> interrupted{false};
  };

  Hook hook();
  void set_current(std::function<void()> end);

  StopSignals& signals_;
  std::shared_ptr<State> state_;
};

}  // namespace fl::cli
