// The cache node: a read-through cache in front of the DB shards. GET is answered from the
// store or filled from the DB; writes follow the write policy; every other keyed command is
// forwarded to the key's shard. Change events from the broker invalidate entries that other
// nodes wrote. The decisions live in CacheStore, FillGuard and WriteBackBuffer; this class
// wires them to the RESP server, the DB router and the feed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nodes/cache/cache_store.h"
#include "nodes/cache/db_router.h"
#include "nodes/cache/fill_guard.h"
#include "nodes/cache/write_back.h"
#include "nodes/common/command_table.h"
#include "nodes/common/session.h"

namespace fl::nodes {
class RespServer;
}

namespace fl::cache {

class InvalidationFeed;
struct ChangeEvent;

enum class WritePolicy : uint8_t {
  write_through,  // forward; on the DB's OK install the written value
  write_around,   // forward; drop the entry
  write_back,     // SET/DEL acknowledged by the cache, flushed to the DB in batches
};
const char* to_string(WritePolicy p);
bool parse_write_policy(std::string_view text, WritePolicy& out);

struct CacheOptions {
  std::string id = "cache";
  std::vector<DbMember> db;
  WritePolicy policy = WritePolicy::write_through;
  StoreOptions store;
  WriteBackOptions write_back;
  // Broker of the invalidation feed; empty host: no feed.
  std::string broker_host;
  uint16_t broker_port = 0;
  std::string changes_topic = "changes";
  // On start, read the keys of the last `warm` change events and fill them.
  int warm = 0;
  // Deadline of one DB request (retries included).
  Duration timeout = std::chrono::seconds(1);
  // TEST ONLY: ignore the invalidation feed (entries other nodes changed stay stale).
  bool bug_skip_invalidation = false;
};

struct CacheCounters {
  uint64_t dirty_hits = 0;    // GETs answered from the write-back buffer
  uint64_t fills = 0;         // values read from the DB and installed
  uint64_t fill_races = 0;    // fills not installed: the key changed while they were in flight
  uint64_t invalidations = 0; // entries dropped by change events
  uint64_t feed_events = 0;   // change events applied (not our own)
  uint64_t own_events = 0;    // change events of this cache's own writes (skipped)
  uint64_t feed_drops = 0;    // whole-cache drops after losing the feed
  uint64_t warmed = 0;        // fills started by --warm
};

class CacheNode {
 public:
  // `server` and `stats` must outlive the node; the node uses the server's io_context.
  CacheNode(CacheOptions options, nodes::RespServer& server, const nodes::ServerStats& stats);
  ~CacheNode();
  CacheNode(const CacheNode&) = delete;
  CacheNode& operator=(const CacheNode&) = delete;

  // Registers every command on `table` (which the server dispatches to).
  void register_commands(nodes::CommandTable& table);
  // Starts the feed, the flush timer and warming. REQUIRES: before server.run().
  void start();

 private:
  using Done = std::function<void(std::string reply)>;
  struct Busy {
    int writes = 0;
    std::vector<std::function<void()>> waiters;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  static int64_t now_ms();

  void get(nodes::CommandContext& ctx);
  void get_owned(const std::string& key, Done done);
  void fill(const std::string& key, Done done);
  void set(nodes::CommandContext& ctx);
  void del(std::vector<std::string> keys, Done done);
  void exists(std::vector<std::string> keys, Done done);
  void mget(std::vector<std::string> keys, Done done);
  void forward(std::vector<std::string> argv, Done done);
  void forward_write(std::vector<std::string> argv, std::optional<std::string> install,
                     Done done);
  void info(nodes::CommandContext& ctx);
  void peek(nodes::CommandContext& ctx);
  void keys(nodes::CommandContext& ctx);
  void client(nodes::CommandContext& ctx);

  // Runs `f` once `key` has no write in flight and (write-back) is clean.
  void when_ready(const std::string& key, std::function<void()> f);
  void acquire(const std::string& key);
  void release(const std::string& key);

  void on_change(const ChangeEvent& e);
  void on_feed_lost();
  void flush_tick();
  void warm();

  CacheOptions options_;
  nodes::RespServer& server_;
  const nodes::ServerStats& server_stats_;
  CacheStore store_;
  FillGuard guard_;
  WriteBackBuffer write_back_;
  std::unique_ptr<DbRouter> router_;
  std::unique_ptr<InvalidationFeed> feed_;
  // Keys with writes in flight to the DB: reads of them wait (read-your-writes).
  std::unordered_map<std::string, Busy, Hash, std::equal_to<>> busy_;
  size_t flushing_ = 0;
  // Commands waiting for a dirty key's flush: while there are any, flushes start at once.
  size_t dirty_waiters_ = 0;
  CacheCounters counters_;
  int64_t started_ms_ = 0;
  std::shared_ptr<std::function<void()>> warm_step_;
};

}  // namespace fl::cache
