#include "nodes/cache/fill_guard.h"

namespace fl::cache {

FillGuard::Ticket FillGuard::begin(std::string_view key) {
  auto it = keys_.find(key);
  if (it == keys_.end()) it = keys_.emplace(std::string(key), State{}).first;
  ++it->second.in_flight;
  return {it->second.version, epoch_};
}

bool FillGuard::finish(std::string_view key, Ticket t) {
  auto it = keys_.find(key);
  if (it == keys_.end()) return false;  // unmatched: be safe, do not install
  const bool clean = it->second.version == t.version && epoch_ == t.epoch;
  if (--it->second.in_flight == 0) keys_.erase(it);
  return clean;
}

void FillGuard::changed(std::string_view key) {
  auto it = keys_.find(key);
  if (it != keys_.end()) ++it->second.version;
}

}  // namespace fl::cache
