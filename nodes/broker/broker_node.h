// The broker's RESP face: the command table (Redis-shaped stream commands over the Broker,
// PUBLISH/SUBSCRIBE, PING, INFO, ...), blocked readers (BLOCK), and the group commit that makes
// writes durable before they are answered. Runs on the RespServer's thread; the server must run
// with pipeline_deferred (SUBSCRIBE needs its PushChannel, group commit its deferred replies).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "nodes/broker/broker.h"
#include "nodes/broker/sync_worker.h"
#include "nodes/common/command_table.h"
#include "nodes/common/resp_server.h"
#include "nodes/common/session.h"

namespace fl::broker {

struct NodeOptions {
  std::string id = "broker";
  // Most entries one XRANGE/XREAD/XREADGROUP reply carries (a larger or absent COUNT is capped).
  size_t max_count = 1000;
  // Period of the housekeeping tick (block timeouts, everysec fsync, compaction, bug writes).
  Duration tick = std::chrono::milliseconds(10);
};

class BrokerNode {
 public:
  // `server` and `stats` must outlive the node; `broker` is owned.
  BrokerNode(NodeOptions options, std::unique_ptr<Broker> broker, nodes::RespServer& server,
             const nodes::ServerStats& stats);
  ~BrokerNode();
  BrokerNode(const BrokerNode&) = delete;
  BrokerNode& operator=(const BrokerNode&) = delete;

  // Registers every command and starts the tick. REQUIRES: before server.run().
  void start(nodes::CommandTable& table);

  Broker& broker() { return *broker_; }

 private:
  struct Waiter;
  using Ctx = nodes::CommandContext;

  void xadd(Ctx& c);
  void xrange(Ctx& c);
  void xlen(Ctx& c);
  void xread(Ctx& c);
  void xreadgroup(Ctx& c);
  void xack(Ctx& c);
  void xpending(Ctx& c);
  void xgroup(Ctx& c);
  void del(Ctx& c);
  void compact(Ctx& c);
  void publish(Ctx& c);
  void subscribe(Ctx& c);
  void unsubscribe(Ctx& c);
  void ping(Ctx& c);
  void info(Ctx& c);
  void client(Ctx& c);

  // Answers `reply` once the command's write (`wrote`) is durable per the fsync policy: at once
  // unless the policy is `always`, then after the group commit that covers it.
  void reply_durable(Ctx& c, std::string reply, bool wrote);
  void schedule_commit();
  // Starts a group commit of every written file on the sync worker, unless one is in flight
  // (then it starts when that one ends).
  void commit();
  void commit_done(int err);
  // Parks a blocked read; `attempt` answers and returns true once it can (or on timeout).
  void park(Ctx& c, std::vector<std::string> topics, int64_t block_ms,
            std::function<bool(std::string& out, bool timed_out)> attempt);
  void wake(std::string topic);
  // Wakes the blocked reads of every topic (after a commit made buffered entries visible).
  void wake_all();
  void on_tick();
  int64_t now_ms() const;
  bool subscribed(uint64_t session) const;
  std::string io_error_reply(const Error& e);

  NodeOptions options_;
  std::unique_ptr<Broker> broker_;
  nodes::RespServer& server_;
  const nodes::ServerStats& stats_;
  int64_t started_ms_;

  // Group commit: replies waiting for the next commit, and those of the commit in flight.
  using Waiting = std::vector<std::pair<nodes::DeferredReply, std::string>>;
  Waiting commit_waiters_;
  Waiting in_flight_;
  bool commit_scheduled_ = false;
  bool commit_running_ = false;
  uint64_t commits_ = 0;
  int64_t last_everysec_ms_ = 0;

  std::unordered_map<std::string, std::vector<std::shared_ptr<Waiter>>> waiters_;
  uint64_t blocked_ = 0;
  int64_t last_retry_ms_ = 0;
  int64_t last_sweep_ms_ = 0;

  // Pub/sub: channel -> session -> channel handle; session -> its channels.
  std::unordered_map<std::string, std::map<uint64_t, nodes::PushChannel>> channels_;
  std::unordered_map<uint64_t, std::set<std::string>> subscriptions_;
  uint64_t published_ = 0;
  uint64_t delivered_ = 0;
  bool failed_ = false;
  // The destructor joins it first, before anything its callbacks touch is gone.
  std::unique_ptr<SyncWorker> worker_;
};

}  // namespace fl::broker
