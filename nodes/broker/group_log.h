// The durable state of a topic's consumer groups: one append-only file, `groups.log`, of records
// framed as in file_io.h after the magic "FLBGRP01". Records: create (name, committed offset per
// partition), destroy (name), ack (name, partition, offset). When it has grown well past the
// live state it is rewritten (create + ack records of the current state) and replaced
// atomically. Recovery replays it and cuts a torn tail.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace fl::broker {

struct GroupState {
  std::vector<uint64_t> committed;           // per partition
  std::vector<std::vector<uint64_t>> acked;  // per partition: acked offsets >= committed
};

class GroupLog {
 public:
  // Opens (creating) `path` and replays it into `recovered` (by group name).
  static result<std::unique_ptr<GroupLog>> open(const std::filesystem::path& path,
                                                std::map<std::string, GroupState>& recovered,
                                                uint64_t* torn_bytes = nullptr);
  ~GroupLog();
  GroupLog(const GroupLog&) = delete;
  GroupLog& operator=(const GroupLog&) = delete;

  // Buffer one record each; write() writes the buffer with one write(2).
  void create(std::string_view group, const std::vector<uint64_t>& committed);
  void destroy(std::string_view group);
  void ack(std::string_view group, uint32_t partition, uint64_t offset);
  result<void> write();
  // fdatasync if something was written since the last sync.
  result<void> sync();
  bool dirty() const { return dirty_; }
  // As PartitionLog::take_sync_fd.
  int take_sync_fd();

  // Replaces the file with `state` atomically (temp, fsync, rename, directory fsync).
  result<void> rewrite(const std::map<std::string, GroupState>& state);
  // Records appended since the file was last written whole.
  uint64_t records_since_rewrite() const { return appended_; }
  uint64_t fsyncs() const { return fsyncs_; }

 private:
  explicit GroupLog(std::filesystem::path path) : path_(std::move(path)) {}
  result<void> reopen();

  std::filesystem::path path_;
  int fd_ = -1;
  std::string buffer_;
  std::string scratch_;
  uint64_t appended_ = 0;
  uint64_t fsyncs_ = 0;
  bool dirty_ = false;
};

}  // namespace fl::broker
