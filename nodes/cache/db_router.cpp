#include "nodes/cache/db_router.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <set>

#include "common/hash_ring.h"
#include "common/resp/resp.h"
#include "nodes/common/upstream.h"

namespace fl::cache {
namespace {

using Clock = std::chrono::steady_clock;

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

std::string error_reply(std::string_view text) {
  std::string out;
  resp::Writer(out).error(text);
  return out;
}

}  // namespace

struct DbRouter::Op {
  std::string encoded;
  int shard = 0;
  Clock::time_point deadline;
  int redirects = 0;
  Duration backoff{0};
  Callback cb;
};

std::string validate_members(const std::vector<DbMember>& members) {
  if (members.empty()) return "no --db member given";
  int max_shard = -1;
  std::set<int> seen;
  for (const DbMember& m : members) {
    if (m.shard < 0) return fmt::format("member {} has a negative shard", m.id);
    max_shard = std::max(max_shard, m.shard);
    seen.insert(m.shard);
  }
  if (static_cast<int>(seen.size()) != max_shard + 1) {
    return fmt::format("shards must be 0..{} with at least one member each", max_shard);
  }
  return {};
}

DbRouter::DbRouter(boost::asio::io_context& io, std::vector<DbMember> members,
                   RouterOptions options)
    : io_(io), options_(std::move(options)) {
  for (const DbMember& m : members) shards_ = std::max(shards_, m.shard + 1);
  members_.resize(static_cast<size_t>(shards_));
  for (const DbMember& m : members) {
    members_[static_cast<size_t>(m.shard)].push_back(m.address());
    address_of_[m.id] = m.address();
  }
  for (const auto& list : members_) master_.push_back(list.empty() ? std::string() : list.front());
}

DbRouter::~DbRouter() { close(); }

void DbRouter::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& [addr, up] : upstreams_) up->close();
}

std::string DbRouter::master_of(int shard) const { return master_[static_cast<size_t>(shard)]; }

nodes::Upstream& DbRouter::upstream(const std::string& address) {
  auto it = upstreams_.find(address);
  if (it != upstreams_.end()) return *it->second;
  const size_t colon = address.rfind(':');
  const std::string host = address.substr(0, colon);
  const auto port = static_cast<uint16_t>(std::stoi(address.substr(colon + 1)));
  nodes::UpstreamOptions uo;
  // One connection per DB node keeps one client's commands in order on the way to the DB.
  uo.connections = 1;
  uo.timeout = options_.timeout;
  uo.client_name = options_.client_name;
  auto up = std::make_unique<nodes::Upstream>(io_, host, port, uo);
  return *upstreams_.emplace(address, std::move(up)).first->second;
}

void DbRouter::call(std::string_view key, std::vector<std::string> argv, Callback cb) {
  ++stats_.requests;
  auto op = std::make_shared<Op>();
  std::vector<std::string_view> views(argv.begin(), argv.end());
  resp::Writer(op->encoded).command(std::span<const std::string_view>(views));
  op->shard = shard_of(key, shards_);
  op->deadline = Clock::now() + options_.timeout;
  op->backoff = options_.backoff_min;
  op->cb = std::move(cb);
  if (closed_) {
    boost::asio::post(io_, [op] { op->cb(error_reply("CLUSTERDOWN the cache is stopping")); });
    return;
  }
  send(op);
}

std::optional<std::string> DbRouter::moved_target(std::string_view reply) const {
  const size_t end = reply.find('\r');
  if (end == std::string_view::npos) return std::nullopt;
  const std::string_view line = reply.substr(0, end);
  const size_t addr_at = line.find(' ', 7);
  if (addr_at == std::string_view::npos) return std::nullopt;
  std::string_view addr = line.substr(addr_at + 1);
  std::string_view id;
  if (const size_t sp = addr.find(' '); sp != std::string_view::npos) {
    id = addr.substr(sp + 1);
    addr = addr.substr(0, sp);
  }
  if (auto it = address_of_.find(id); !id.empty() && it != address_of_.end()) return it->second;
  if (addr.empty()) return std::nullopt;
  return std::string(addr);
}

void DbRouter::send(const std::shared_ptr<Op>& op) {
  if (closed_) return op->cb(error_reply("CLUSTERDOWN the cache is stopping"));
  const auto left = op->deadline - Clock::now();
  if (left <= Duration::zero()) {
    ++stats_.clusterdown;
    return op->cb(
        error_reply(fmt::format("CLUSTERDOWN shard {} did not answer in time", op->shard)));
  }
  const std::string address = master_[static_cast<size_t>(op->shard)];
  upstream(address).call_encoded(
      op->encoded,
      [this, op, address](nodes::UpstreamReply&& r) {
        using S = nodes::UpstreamReply::Status;
        if (r.status == S::ok) {
          const std::string_view b = r.bytes;
          if (starts_with(b, "-MOVED ") && op->redirects < options_.max_redirects) {
            // "-MOVED <shard> host:port[ id]\r\n"
            if (auto to = moved_target(b)) {
              ++stats_.moved;
              ++op->redirects;
              master_[static_cast<size_t>(op->shard)] = std::move(*to);
              return send(op);
            }
          }
          if (starts_with(b, "-TRYAGAIN")) return retry(op, std::move(r.bytes));
          if (starts_with(b, "-CLUSTERDOWN")) {
            // That node knows no master: another member may.
            next_member(op, address);
            return retry(op, std::move(r.bytes));
          }
          return op->cb(std::move(r.bytes));
        }
        if (r.status == S::not_sent) {
          // Certainly not applied: another member of the shard may be the master now.
          next_member(op, address);
          return retry(op, error_reply(fmt::format("CLUSTERDOWN shard {} unreachable: {}",
                                                   op->shard, r.error)));
        }
        ++stats_.timeouts;
        op->cb(error_reply(fmt::format("TIMEOUT shard {} at {}: {}", op->shard, address,
                                       r.error.empty() ? "no answer" : r.error)));
      },
      std::chrono::duration_cast<Duration>(left));
}

void DbRouter::next_member(const std::shared_ptr<Op>& op, const std::string& failed) {
  const auto& list = members_[static_cast<size_t>(op->shard)];
  std::string& master = master_[static_cast<size_t>(op->shard)];
  // Only if nobody moved the shard's master meanwhile (e.g. a -MOVED of another request).
  if (master != failed || list.empty()) return;
  const auto it = std::find(list.begin(), list.end(), failed);
  master = it == list.end() ? list.front()
                            : list[(static_cast<size_t>(it - list.begin()) + 1) % list.size()];
}

void DbRouter::retry(const std::shared_ptr<Op>& op, std::string last_error) {
  const auto now = Clock::now();
  if (closed_ || now + op->backoff >= op->deadline) {
    if (starts_with(last_error, "-CLUSTERDOWN")) ++stats_.clusterdown;
    return op->cb(std::move(last_error));
  }
  ++stats_.retries;
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, op->backoff);
  op->backoff = std::min(op->backoff * 2, options_.backoff_max);
  timer->async_wait([this, op, timer](const boost::system::error_code&) { send(op); });
}

}  // namespace fl::cache
