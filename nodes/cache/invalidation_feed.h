// The cache's invalidation feed: a consumer of the DB's change events on the broker, in the
// consumer group cache-<id> of the changes topic (XREADGROUP ... BLOCK 1000 COUNT 1000, then
// XACK). Each event names a changed key and the client that wrote it. When the broker cannot
// be reached the feed reports the loss once (the cache then drops everything: it cannot know
// what it missed) and keeps retrying. Asio stays in the .cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/units.h"

namespace boost::asio {
class io_context;
}

namespace fl::nodes {
class Upstream;
}

namespace fl::cache {

struct FeedOptions {
  std::string host;
  uint16_t port = 0;
  std::string topic = "changes";
  // Consumer group (cache-<id>) and consumer name (<id>).
  std::string group;
  std::string consumer;
  // How long XREADGROUP blocks on the broker, in ms. Default 1000.
  int block_ms = 1000;
  // Extra time the broker has to answer beyond block_ms. Default 1 s.
  Duration timeout = std::chrono::seconds(1);
  // Wait before retrying after a failure. Default 100 ms.
  Duration retry = std::chrono::milliseconds(100);
};

struct FeedStats {
  uint64_t events = 0;   // change events received
  uint64_t losses = 0;   // times the feed was lost
  uint64_t reads = 0;    // XREADGROUP replies
};

// One change event: the key and the origin (client name of the writer; may be empty).
struct ChangeEvent {
  std::string key;
  std::string origin;
};

// Parses an XREADGROUP/XREAD reply ([[topic, [[id, [field, value, ...]], ...]], ...] or nil) into
// the entries' ids and their key/origin fields. False if the reply has another shape.
bool parse_change_events(std::string_view reply_bytes, std::vector<std::string>& ids,
                         std::vector<ChangeEvent>& events);

// Parses an XRANGE reply ([[id, [field, value, ...]], ...]) the same way.
bool parse_range_events(std::string_view reply_bytes, std::vector<std::string>& ids,
                        std::vector<ChangeEvent>& events);

// From the ids and keys of a whole log in ID order (partition-major: "<partition>-<offset>"),
// the distinct keys of about the last `n` events: each partition's newest first, taken from
// the partitions in turn (the broker keeps no order across partitions).
std::vector<std::string> recent_keys(const std::vector<std::string>& ids,
                                     const std::vector<ChangeEvent>& events, size_t n);

class InvalidationFeed {
 public:
  using OnChange = std::function<void(const ChangeEvent&)>;
  using OnLost = std::function<void()>;

  InvalidationFeed(boost::asio::io_context& io, FeedOptions options, OnChange on_change,
                   OnLost on_lost);
  ~InvalidationFeed();
  InvalidationFeed(const InvalidationFeed&) = delete;
  InvalidationFeed& operator=(const InvalidationFeed&) = delete;

  // Creates the group if needed and starts reading.
  void start();
  void stop();
  // Reads the whole changes topic with XRANGE pages (at most `max_pages` of 1000) and calls
  // `done` with recent_keys(.., n) (empty when the broker cannot be read).
  void read_recent(size_t n, std::function<void(std::vector<std::string>)> done,
                   size_t max_pages = 1000);
  // True once the group exists on the broker, until the next failure.
  bool connected() const { return connected_; }
  const FeedStats& stats() const { return stats_; }

 private:
  void create_group();
  void read();
  void failed();
  void later(std::function<void()> f);

  boost::asio::io_context& io_;
  FeedOptions options_;
  OnChange on_change_;
  OnLost on_lost_;
  std::unique_ptr<nodes::Upstream> upstream_;
  bool connected_ = false;
  bool stopped_ = false;
  FeedStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // The page-reading step of read_recent(), kept while it runs.
  std::shared_ptr<std::function<void(std::string)>> pending_warm_;
};

}  // namespace fl::cache
