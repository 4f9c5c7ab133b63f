// Routes a keyed command from the cache to the DB shard that owns the key (fl::shard_of over
// the shard count), starting at the shard's first member and remembering the master each
// -MOVED names (by its trailing instance id when the --db list has it, so the cache keeps using
// its own address for that node, e.g. its link through the harness's proxy; else by host:port). -TRYAGAIN and -CLUSTERDOWN are retried with backoff within the request's
// timeout, and so is a request that certainly was not sent (trying the shard's next member).
// Asio stays in the .cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
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

// One DB node, as faultline-db's --member names it: ID,SHARD,HOST:PORT.
struct DbMember {
  std::string id;
  int shard = 0;
  std::string host;
  uint16_t port = 0;

  std::string address() const { return host + ":" + std::to_string(port); }
};

struct RouterOptions {
  // Deadline of one request, retries included. Default 1 s.
  Duration timeout = std::chrono::seconds(1);
  // Sent as CLIENT SETNAME on every DB connection (the DB names it as the origin of its change
  // events). Empty: none.
  std::string client_name;
  // Backoff between retries, doubling from min to max.
  Duration backoff_min = std::chrono::milliseconds(10);
  Duration backoff_max = std::chrono::milliseconds(200);
  // Most -MOVED redirects followed by one request.
  int max_redirects = 5;
};

struct RouterStats {
  uint64_t requests = 0;
  uint64_t moved = 0;
  uint64_t retries = 0;
  uint64_t timeouts = 0;
  uint64_t clusterdown = 0;
};

class DbRouter {
 public:
  // Receives exactly one complete RESP reply: the DB's (errors passed through), or
  // -TIMEOUT (sent, no answer: may have been applied) / -CLUSTERDOWN (certainly not applied).
  using Callback = std::function<void(std::string reply)>;

  // REQUIRES: members is not empty and its shards are 0..S-1, each with at least one member.
  DbRouter(boost::asio::io_context& io, std::vector<DbMember> members, RouterOptions options);
  ~DbRouter();
  DbRouter(const DbRouter&) = delete;
  DbRouter& operator=(const DbRouter&) = delete;

  // Sends `argv` to the shard of `key`. `cb` runs on the io thread, never inside call().
  void call(std::string_view key, std::vector<std::string> argv, Callback cb);
  // Ends every request (callbacks get -CLUSTERDOWN or -TIMEOUT) and refuses new ones.
  void close();

  int shards() const { return shards_; }
  // host:port of the node currently believed to be the master of `shard`.
  std::string master_of(int shard) const;
  const RouterStats& stats() const { return stats_; }

 private:
  struct Op;
  void send(const std::shared_ptr<Op>& op);
  void retry(const std::shared_ptr<Op>& op, std::string last_error);
  // After `failed` could not serve the shard: believe the shard's next member is its master.
  void next_member(const std::shared_ptr<Op>& op, const std::string& failed);
  nodes::Upstream& upstream(const std::string& address);
  // The address a "-MOVED <shard> host:port[ id]\r\n" reply sends to: this router's own address
  // for the id when it knows the id, else host:port. nullopt when malformed.
  std::optional<std::string> moved_target(std::string_view reply) const;

  boost::asio::io_context& io_;
  RouterOptions options_;
  int shards_ = 0;
  // Addresses of each shard's members in the order given, and the believed master.
  std::vector<std::vector<std::string>> members_;
  std::vector<std::string> master_;
  // Instance id -> this cache's address for it (the --db list).
  std::map<std::string, std::string, std::less<>> address_of_;
  std::map<std::string, std::unique_ptr<nodes::Upstream>> upstreams_;
  RouterStats stats_;
  bool closed_ = false;
};

// The shard count and members of a --db list; an error names what is wrong.
std::string validate_members(const std::vector<DbMember>& members);

}  // namespace fl::cache
