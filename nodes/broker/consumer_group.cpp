#include "nodes/broker/consumer_group.h"

#include <algorithm>

namespace fl::broker {

ConsumerGroup::ConsumerGroup(std::string name, std::span<const uint64_t> start)
    : name_(std::move(name)), parts_(start.size()) {
  for (size_t p = 0; p < start.size(); ++p) parts_[p].next = start[p];
}

std::vector<Delivery> ConsumerGroup::read_new(std::span<PartitionLog* const> logs,
                                              std::string_view consumer, size_t count,
                                              int64_t now_ms, int64_t ack_timeout_ms) {
  std::vector<Delivery> out;
  const size_t n = std::min(parts_.size(), logs.size());
  if (n == 0 || count == 0) return out;
  const uint32_t first = rotate_++ % static_cast<uint32_t>(n);
  // Expired deliveries first: at-least-once means a consumer that died must not hold them.
  for (size_t i = 0; i < n && out.size() < count; ++i) {
    const uint32_t p = static_cast<uint32_t>((first + i) % n);
    GroupPartition& gp = parts_[p];
    for (auto it = gp.pending.begin(); it != gp.pending.end() && out.size() < count;) {
      if (it->second.delivered_ms + ack_timeout_ms > now_ms) {
        ++it;
        continue;
      }
      const Entry* e = logs[p]->find(it->first);
      if (!e) {
        it = gp.pending.erase(it);  // compacted away: nothing left to deliver
        continue;
      }
      it->second.consumer.assign(consumer);
      it->second.delivered_ms = now_ms;
      ++it->second.deliveries;
      ++redeliveries_;
      out.push_back({p, e});
      ++it;
    }
  }
  for (size_t i = 0; i < n && out.size() < count; ++i) {
    const uint32_t p = static_cast<uint32_t>((first + i) % n);
    GroupPartition& gp = parts_[p];
    const auto& entries = logs[p]->entries();
    for (size_t k = logs[p]->lower_bound(gp.next); k < entries.size() && out.size() < count; ++k) {
      const Entry& e = entries[k];
      gp.next = e.offset + 1;
      if (auto a = gp.acked.find(e.offset); a != gp.acked.end()) {
        // Acknowledged before a restart: skip it.
        gp.acked.erase(a);
        continue;
      }
      gp.pending[e.offset] = PendingEntry{std::string(consumer), now_ms, 1};
      out.push_back({p, &e});
    }
    // Acked offsets below the committed offset are no longer needed.
    const uint64_t c = gp.committed();
    gp.acked.erase(gp.acked.begin(), gp.acked.lower_bound(c));
  }
  return out;
}

std::vector<Delivery> ConsumerGroup::read_pending(std::span<PartitionLog* const> logs,
                                                  std::string_view consumer,
                                                  std::pair<uint32_t, uint64_t> after,
                                                  bool inclusive, size_t count) const {
  std::vector<Delivery> out;
  const size_t n = std::min(parts_.size(), logs.size());
  for (uint32_t p = after.first; p < n && out.size() < count; ++p) {
    const auto& pending = parts_[p].pending;
    auto it = pending.begin();
    if (p == after.first) {
      it = inclusive ? pending.lower_bound(after.second) : pending.upper_bound(after.second);
    }
    for (; it != pending.end() && out.size() < count; ++it) {
      if (it->second.consumer != consumer) continue;
      if (const Entry* e = logs[p]->find(it->first)) out.push_back({p, e});
    }
  }
  return out;
}

bool ConsumerGroup::ack(uint32_t partition, uint64_t offset) {
  if (partition >= parts_.size()) return false;
  GroupPartition& gp = parts_[partition];
  auto it = gp.pending.find(offset);
  if (it == gp.pending.end()) return false;
  gp.pending.erase(it);
  const uint64_t c = gp.committed();
  if (offset >= c) gp.acked.insert(offset);
  gp.acked.erase(gp.acked.begin(), gp.acked.lower_bound(c));
  return true;
}

void ConsumerGroup::restore_ack(uint32_t partition, uint64_t offset) {
  if (partition < parts_.size() && offset >= parts_[partition].next) {
    parts_[partition].acked.insert(offset);
  }
}

void ConsumerGroup::settle(std::span<PartitionLog* const> logs) {
  const size_t n = std::min(parts_.size(), logs.size());
  for (size_t p = 0; p < n; ++p) {
    GroupPartition& gp = parts_[p];
    const auto& entries = logs[p]->entries();
    size_t k = logs[p]->lower_bound(gp.next);
    for (; k < entries.size(); ++k) {
      auto a = gp.acked.find(entries[k].offset);
      if (a == gp.acked.end()) break;
      gp.acked.erase(a);
    }
    gp.next = k < entries.size() ? entries[k].offset : std::max(gp.next, logs[p]->next_offset());
    gp.acked.erase(gp.acked.begin(), gp.acked.lower_bound(gp.next));
  }
}

bool ConsumerGroup::has_deliverable(std::span<PartitionLog* const> logs, int64_t now_ms,
                                    int64_t ack_timeout_ms) const {
  const size_t n = std::min(parts_.size(), logs.size());
  for (size_t p = 0; p < n; ++p) {
    const GroupPartition& gp = parts_[p];
    if (logs[p]->lower_bound(gp.next) < logs[p]->entries().size()) return true;
    for (const auto& [off, pe] : gp.pending) {
      if (pe.delivered_ms + ack_timeout_ms <= now_ms) return true;
    }
  }
  return false;
}

PendingSummary ConsumerGroup::pending_summary() const {
  PendingSummary s;
  for (uint32_t p = 0; p < parts_.size(); ++p) {
    for (const auto& [off, pe] : parts_[p].pending) {
      if (s.count == 0) s.first = {p, off};
      s.last = {p, off};
      ++s.count;
      ++s.per_consumer[pe.consumer];
    }
  }
  return s;
}

uint64_t ConsumerGroup::lag(std::span<PartitionLog* const> logs) const {
  uint64_t lag = 0;
  const size_t n = std::min(parts_.size(), logs.size());
  for (size_t p = 0; p < n; ++p) {
    const auto& entries = logs[p]->entries();
    lag += entries.size() - std::min(entries.size(), logs[p]->lower_bound(parts_[p].next));
  }
  return lag;
}

}  // namespace fl::broker
