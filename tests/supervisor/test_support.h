// Helpers for supervisor tests: instances of fl_test_node, a scratch run directory, an event log
// that can be waited on, and process probes (/proc state, existence).
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "harness/plan/plan.h"
#include "harness/supervisor/supervisor.h"

namespace fl::supervisor::testing {

using namespace std::chrono_literals;

// Path of the fl_test_node executable.
std::string test_node();

// An instance running fl_test_node with `args` (templates allowed: "{port}", "{dir}").
plan::Instance node(std::string id, std::vector<std::string> args,
                    plan::ProbeKind probe = plan::ProbeKind::none);
// A listener on {port} with a tcp probe, plus `extra` flags.
plan::Instance listener(std::string id, std::vector<std::string> extra = {});

// A fresh directory under /tmp, removed on destruction.
struct ScratchDir {
  ScratchDir();
  ~ScratchDir();
  std::filesystem::path path;
};

// Collects events; thread-safe; waitable.
class EventLog {
 public:
  void add(const Event& e);
  std::vector<Event> all() const;
  std::vector<Event> of(std::string_view node,
                        std::optional<Event::Kind> kind = std::nullopt) const;
  // Waits until pred(all events) holds; false after `timeout`.
  bool wait(const std::function<bool(const std::vector<Event>&)>& pred,
            std::chrono::milliseconds timeout = 20s) const;
  bool wait_count(std::string_view node, Event::Kind kind, size_t n,
                  std::chrono::milliseconds timeout = 20s) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<Event> events_;
};

// Options for a quiet supervisor (no echo) in `dir`, recording into `log`.
Options quiet_options(const std::filesystem::path& dir, EventLog& log);

// Polls `pred` every 5ms until true or `timeout` passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 20s);

// The state letter of /proc/<pid>/stat ('R', 'S', 'T', 'Z', ...), or 0 if there is no such pid.
char proc_state(int pid);
// True when no such process exists any more (a zombie awaiting an absent reaper counts as gone).
bool gone(int pid);
// True when a TCP connect to 127.0.0.1:port succeeds.
bool can_connect(uint16_t port);
// The whole text of a file ("" if missing).
std::string read_file(const std::filesystem::path& p);
// Finds "key=<int>" in a file's text; nullopt if absent.
std::optional<int> find_int(const std::filesystem::path& p, const std::string& key);
const NodeStatus* find_status(const std::vector<NodeStatus>& all, std::string_view id);

}  // namespace fl::supervisor::testing
