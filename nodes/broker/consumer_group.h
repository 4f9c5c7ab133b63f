// A consumer group's delivery state over a topic's partitions: pure logic, fed the logs and the
// current time, unit-tested without files or sockets.
//
// Per partition: `next` is the delivery cursor (every entry below it was delivered at least
// once); `pending` the delivered, unacknowledged entries; `acked` the acknowledged offsets at or
// above the committed offset. The committed offset is the lowest pending offset (or `next` when
// nothing is pending): every entry below it is acknowledged. What is made durable is the
// committed offset and `acked` (see GroupLog); after a restart delivery resumes at the committed
// offset, skipping acknowledged entries, so unacknowledged ones are delivered again.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nodes/broker/partition_log.h"

namespace fl::broker {

struct PendingEntry {
  std::string consumer;
  // When it was last delivered, in the caller's milliseconds.
  int64_t delivered_ms = 0;
  uint64_t deliveries = 1;
};

struct GroupPartition {
  uint64_t next = 0;
  std::map<uint64_t, PendingEntry> pending;
  std::set<uint64_t> acked;
  uint64_t committed() const {
    return pending.empty() ? next : std::min(next, pending.begin()->first);
  }
};

struct Delivery {
  uint32_t partition = 0;
  const Entry* entry = nullptr;
};

struct PendingSummary {
  uint64_t count = 0;
  // Smallest and largest pending (partition, offset), valid when count > 0.
  std::pair<uint32_t, uint64_t> first{}, last{};
  std::map<std::string, uint64_t> per_consumer;
};

class ConsumerGroup {
 public:
  // `start[p]`: partition p's committed offset (delivery starts there).
  ConsumerGroup(std::string name, std::span<const uint64_t> start);

  // `>`: entries whose delivery expired (delivered more than `ack_timeout_ms` ago and not
  // acknowledged) first, then entries never delivered, at most `count` in all; they become
  // pending for `consumer`. Partitions are visited starting at a rotating one so that none
  // starves. Entries compacted away while pending are dropped from pending.
  std::vector<Delivery> read_new(std::span<PartitionLog* const> logs, std::string_view consumer,
                                 size_t count, int64_t now_ms, int64_t ack_timeout_ms);

  // An ID other than `>`: the consumer's own pending entries after (partition, offset), in ID
  // order (the history a consumer reads back after a crash). Does not change delivery state.
  std::vector<Delivery> read_pending(std::span<PartitionLog* const> logs, std::string_view consumer,
                                     std::pair<uint32_t, uint64_t> after, bool inclusive,
                                     size_t count) const;

  // Acknowledges a pending entry. False when it was not pending (unknown, or already acked).
  bool ack(uint32_t partition, uint64_t offset);

  // Recovery: marks an offset acknowledged (replayed from the group log).
  void restore_ack(uint32_t partition, uint64_t offset);
  // Recovery: moves each cursor over acknowledged offsets and gaps of the log.
  void settle(std::span<PartitionLog* const> logs);

  // True when some delivered entry is pending past the timeout, or some undelivered entry exists.
  bool has_deliverable(std::span<PartitionLog* const> logs, int64_t now_ms,
                       int64_t ack_timeout_ms) const;

  PendingSummary pending_summary() const;
  // Entries not yet delivered (by offset distance to the log's end), summed over partitions.
  uint64_t lag(std::span<PartitionLog* const> logs) const;

  const std::string& name() const { return name_; }
  const std::vector<GroupPartition>& partitions() const { return parts_; }
  uint64_t redeliveries() const { return redeliveries_; }

 private:
  std::string name_;
  std::vector<GroupPartition> parts_;
  uint32_t rotate_ = 0;
  uint64_t redeliveries_ = 0;
};

}  // namespace fl::broker
