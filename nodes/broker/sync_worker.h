// Runs the fdatasyncs of a group commit off the server's thread, so that reads and the parsing of
// the next writes go on while the disk flushes. One batch at a time; the files of a batch are
// synced in parallel (one thread each beyond the first), so a commit costs about one fsync
// however many partitions it touched.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace fl::broker {

class SyncWorker {
 public:
  // Called on the worker thread with 0, or the errno of the first failed fdatasync.
  using Done = std::function<void(int err)>;

  SyncWorker();
  // Finishes the batch in progress, then stops.
  ~SyncWorker();
  SyncWorker(const SyncWorker&) = delete;
  SyncWorker& operator=(const SyncWorker&) = delete;

  // fdatasyncs and closes every descriptor, then calls `done`. REQUIRES: the previous batch's
  // `done` was called.
  void submit(std::vector<int> fds, Done done);

 private:
  void loop();

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::optional<std::pair<std::vector<int>, Done>> job_;
  std::thread thread_;
};

}  // namespace fl::broker
