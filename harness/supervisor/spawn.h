// Starting one node process: its own process group, dying with the harness, stdout and stderr
// straight into its log file. The only place that includes Boost.Process.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/error.h"

namespace fl::supervisor {

struct SpawnSpec {
  // argv[0] is the program: a path (with a '/') or a name looked up in $PATH.
  std::vector<std::string> argv;
  // The complete environment of the child, "NAME=value" each.
  std::vector<std::string> env;
  // Becomes the child's fd 1 and 2. The caller keeps ownership.
  int output_fd = -1;
};

// Forks and execs `spec` in a new process group (pgid == pid) with PR_SET_PDEATHSIG(SIGKILL),
// stdin from /dev/null, an empty signal mask and default dispositions. Returns the pid once the
// exec succeeded. REQUIRES: called on a thread that lives as long as the child should (the death
// signal fires when the forking thread exits). On failure the message reads
// "cannot start 'prog': No such file or directory"; no child is left behind.
result<pid_t> spawn_process(const SpawnSpec& spec);

// The environment of this process as "NAME=value" strings, with `overrides` replacing or adding
// variables.
std::vector<std::string> child_environment(
    const std::vector<std::pair<std::string, std::string>>& overrides);

}  // namespace fl::supervisor
