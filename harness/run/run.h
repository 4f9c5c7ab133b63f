// `faultline run`: start the plan's cluster, drive its workload, stop the cluster, judge the
// history with the plan's checks, and write the run directory's results.
#pragma once

#include "common/error.h"
#include "harness/plan/plan.h"

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace fl::run {

struct RunOptions {
  std::optional<uint64_t> seed;                    // replaces the plan's seed
  std::optional<std::chrono::nanoseconds> duration;  // replaces the plan's duration
  std::optional<std::filesystem::path> out;        // the run directory
  bool echo_logs = false;                          // multiplex node output to the terminal
  // Live progress: a rewritten line on a TTY, else a plain line every few seconds. Off in tests.
  bool progress = true;
  // Where faultline-<kind> executables are; default: the running executable's directory.
  std::optional<std::filesystem::path> bindir;
};

struct RunOutcome {
  int exit_code = 3;             // 0 valid, 1 invalid, 2 unknown, 3 harness failure
  std::filesystem::path dir;     // the run directory (empty if it could not be created)
  std::string summary;           // the terminal summary table
};

// Runs the plan. `stop_hook` receives a function that ends the run early (for Ctrl-C): the
// main phase stops, the cluster is stopped, and what was recorded is still checked.
RunOutcome execute(const plan::Plan& plan, const RunOptions& options,
                   const std::function<void(std::function<void()>)>& stop_hook);

}  // namespace fl::run
