#include "chaos/ledgered_control.h"

namespace fl::chaos {

void LedgeredControl::forget(std::string_view id) {
  LedgerEntry e;
  {
    std::lock_guard lock(mu_);
    auto it = paused_.find(id);
    if (it == paused_.end()) return;
    e = it->second;
    paused_.erase(it);
  }
  (void)ledger_.remove(e);
}

result<void> LedgeredControl::pause(std::string_view id) {
  int pid = pid_of_(id);
  if (pid > 0) {
    if (auto start = process_start_time(pid)) {
      LedgerEntry e{LedgerEntry::Kind::pgroup, "", pid, *start};
      if (auto r = ledger_.add(e); !r) return r;
      std::lock_guard lock(mu_);
      paused_[std::string(id)] = e;
    }
  }
  auto r = inner_.pause(id);
  if (!r) forget(id);
  return r;
}

result<void> LedgeredControl::resume(std::string_view id) {
  auto r = inner_.resume(id);
  if (r) forget(id);
  return r;
}

result<void> LedgeredControl::kill(std::string_view id) {
  auto r = inner_.kill(id);
  if (r) forget(id);
  return r;
}

result<void> LedgeredControl::terminate(std::string_view id) {
  auto r = inner_.terminate(id);
  if (r) forget(id);
  return r;
}

result<void> LedgeredControl::restart(std::string_view id, bool wipe) {
  auto r = inner_.restart(id, wipe);
  forget(id);
  return r;
}

}  // namespace fl::chaos
