// A ProcessControl decorator that records the process groups it pauses in the run's ledger, so
// a harness killed while a node is SIGSTOPped leaves `faultline heal` enough to resume and kill
// it (a stopped process outlives its parent otherwise).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "chaos/ledger.h"
#include "chaos/process_faults.h"

namespace fl::chaos {

class LedgeredControl final : public ProcessControl {
 public:
  // `pid_of` returns the pid of a node's running process (its process group id: the supervisor
  // starts each node in its own group), 0 when none. `inner` and `ledger` must outlive this.
  LedgeredControl(ProcessControl& inner, Ledger& ledger,
                  std::function<int(std::string_view id)> pid_of)
      : inner_(inner), ledger_(ledger), pid_of_(std::move(pid_of)) {}

  // The paused group is recorded before SIGSTOP and forgotten after SIGCONT, and forgotten when
  // the node's process ends (kill, terminate, restart).
  result<void> kill(std::string_view id) override;
  result<void> terminate(std::string_view id) override;
  result<void> pause(std::string_view id) override;
  result<void> resume(std::string_view id) override;
  result<void> restart(std::string_view id, bool wipe) override;

 private:
  void forget(std::string_view id);

  ProcessControl& inner_;
  Ledger& ledger_;
  std::function<int(std::string_view)> pid_of_;
  std::mutex mu_;
  std::map<std::string, LedgerEntry, std::less<>> paused_;
};

}  // namespace fl::chaos
