// The machine-wide record of what live runs changed outside their own processes: network
// namespaces, bridges and veths, nftables tables, and process groups they SIGSTOPped. One JSON
// file per live run in the state directory (`<run-id>.json`), rewritten atomically on every
// change, naming its owner by pid and /proc start time, so a reused pid is not taken for a live
// owner. When a run dies without cleaning up (SIGKILL, a crash), sweep_stale() undoes what its
// file lists: `faultline heal` and every `run`/`up` start call it.
//
// The state directory is $FAULTLINE_STATE_DIR, else /run/faultline for root, else
// /tmp/faultline-<uid>.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace fl::chaos {

std::filesystem::path state_dir();

// One thing a run must undo.
struct LedgerEntry {
  enum class Kind {
    netns,      // name: a network namespace (its processes are SIGKILLed, then it is deleted)
    link,       // name: a network interface in the root namespace (a bridge, a veth)
    nft_table,  // name: "<family> <table>" in the root namespace
    pgroup,     // pgid (= the leader's pid) and the leader's start time: a paused process group
  };
  Kind kind = Kind::netns;
  std::string name;
  int pgid = 0;
  uint64_t start_time = 0;  // /proc/<pgid>/stat field 22, clock ticks since boot

  friend bool operator==(const LedgerEntry&, const LedgerEntry&) = default;
};
std::string_view to_string(LedgerEntry::Kind k);
// "netns fl-1a2b3c-0", "pgroup 4242", ...
std::string describe(const LedgerEntry& e);

// A process's start time (field 22 of /proc/<pid>/stat); nullopt when it does not exist.
std::optional<uint64_t> process_start_time(int pid);
// True when `pid` exists and started at `start_time`.
bool process_alive(int pid, uint64_t start_time);

// The ledger file of one live run, owned by this process. Thread-safe.
class Ledger {
 public:
  // Creates <state_dir>/<run_id>.json (characters other than [A-Za-z0-9._-] become '_') owned
  // by this process, creating the directory if needed. Fails with errc::io_error when it cannot.
  static result<std::unique_ptr<Ledger>> open(std::string run_id, std::filesystem::path run_dir);
  // close().
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Records `e` (a duplicate is recorded once) / forgets it (absent: no-op) and rewrites the
  // file. Call add() before making the change and remove() after undoing it.
  result<void> add(const LedgerEntry& e);
  result<void> remove(const LedgerEntry& e);
  std::vector<LedgerEntry> entries() const;

  // Deletes the file: everything it listed has been undone. Idempotent.
  void close();

  const std::filesystem::path& path() const { return path_; }

 private:
  Ledger(std::string run_id, std::filesystem::path run_dir, std::filesystem::path path);
  result<void> write_locked();

  std::string run_id_;
  std::filesystem::path run_dir_, path_;
  int owner_pid_ = 0;
  uint64_t owner_start_ = 0;
  mutable std::mutex mu_;
  std::vector<LedgerEntry> entries_;
  bool closed_ = false;
};

// A ledger file as read back.
struct LedgerFile {
  std::filesystem::path path;
  std::string run_id;
  std::string run_dir;
  int owner_pid = 0;
  uint64_t owner_start_time = 0;
  std::vector<LedgerEntry> entries;
};
result<LedgerFile> read_ledger(const std::filesystem::path& path);

struct SweepReport {
  std::vector<std::string> removed;  // describe() of each thing undone, plus ledger files
  std::vector<std::string> errors;   // what could not be undone, and why
};

// Undoes every ledger whose owner is dead: SIGCONT then SIGKILL each recorded process group
// whose leader still has the recorded start time (or, with the leader gone, whose members all
// started after it); SIGKILL the processes left in each namespace and delete it; delete links and
// nft tables; then delete the file. With `all`, also removes every `fl-*` namespace, every
// `flbr-*`/`flv-*` link and every `faultline_*` nft table whose run tag (chaos/netns.h) no live
// ledger holds. Things already gone are not errors.
result<SweepReport> sweep_stale(bool all);

// For `run`/`up` start: sweep_stale(false), printing what it removed (and any error) to stderr
// as "faultline: ...". Never fails the caller.
void sweep_stale_at_start();

}  // namespace fl::chaos
