// Header-only helpers for tests that drive the `faultline` executable: read a file, poll a
// condition with a deadline, probe and kill pids, make a scratch directory, and spawn
// `faultline` with its output in files.
// For fl_add_test targets, which define FL_BIN_DIR (the build's bin directory).
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#ifndef FL_BIN_DIR
#error "tests/support/test_process.h needs FL_BIN_DIR (fl_add_test defines it)"
#endif

namespace fl::test {

// The `faultline` executable of this build.
inline std::filesystem::path faultline_binary() {
  return std::filesystem::path(FL_BIN_DIR) / "faultline";
}

// The whole file, or "" if it cannot be read.
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Polls `cond` every 5 ms until it holds or `deadline` passes; a last try at the end. The
// deadlines callers pass are generous: CI machines are loaded, and a passing condition returns
// at once.
inline bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds deadline) {
  const auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return cond();
}

// False when /proc has no entry for `pid` or it is a zombie waiting to be reaped.
inline bool alive(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

// A fresh directory /tmp/<prefix>XXXXXX, or an empty path if it could not be made.
inline std::filesystem::path make_temp_dir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "XXXXXX";
  return ::mkdtemp(tmpl.data()) ? std::filesystem::path(tmpl) : std::filesystem::path();
}

// SIGKILLs each of `pids` that is still alive (cleanup after a test).
inline void kill_alive(const std::vector<int>& pids) {
  for (int pid : pids) {
    if (alive(pid)) ::kill(pid, SIGKILL);
  }
}

// `faultline args...` started in `cwd` with stdout and stderr written (truncated) to `out` and
// `err`. Killed (SIGKILL) and reaped on destruction unless a wait saw it end.
class Process {
 public:
  Process(const std::vector<std::string>& args, const std::filesystem::path& cwd,
          std::filesystem::path out, std::filesystem::path err)
      : out_(std::move(out)), err_(std::move(err)) {
    std::vector<std::string> full{faultline_binary().string()};
    full.insert(full.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
    posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  ~Process() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  bool started() const { return pid_ > 0; }
  int pid() const { return pid_; }
  void signal(int s) {
    if (pid_ > 0) ::kill(pid_, s);
  }
  // The exit code, or -signal; nullopt if it did not end within `deadline` (or never started).
  std::optional<int> wait(std::chrono::milliseconds deadline) {
    if (pid_ <= 0) return std::nullopt;
    eventually(
        [&] {
          if (status_) return true;
          int st = 0;
          if (::waitpid(pid_, &st, WNOHANG) == pid_) record(st);
          return status_.has_value();
        },
        deadline);
    return status_;
  }
  // As wait(deadline), but blocks until the process ends.
  std::optional<int> wait() {
    if (pid_ <= 0) return std::nullopt;
    int st = 0;
    if (!status_ && ::waitpid(pid_, &st, 0) == pid_) record(st);
    return status_;
  }
  std::string out() const { return slurp(out_); }
  std::string err() const { return slurp(err_); }

 private:
  void record(int st) { status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st); }

  std::filesystem::path out_, err_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace fl::test
