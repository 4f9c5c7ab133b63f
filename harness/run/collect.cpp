#include "harness/run/collect.h"

#include <fmt/core.h>

#include <algorithm>
#include <map>
#include <optional>
#include <thread>

#include "common/hash_ring.h"
#include "harness/run/node_query.h"

namespace fl::run {
namespace {

using Clock = std::chrono::steady_clock;
using Commands = std::vector<std::vector<std::string>>;

std::string describe(const resp::Value& v) {
  switch (v.type) {
    case resp::Type::error:
      return v.str;
    case resp::Type::null:
      return "nil";
    default:
      return "unexpected reply";
  }
}

// One connection per address, opened on first use; a broken one is opened again.
class Connections {
 public:
  explicit Connections(Duration timeout) : timeout_(timeout) {}
  result<std::vector<resp::Value>> call_many(const std::string& host, uint16_t port,
                                             const Commands& cmds) {
    const std::string key = fmt::format("{}:{}", host, port);
    auto it = conns_.find(key);
    if (it == conns_.end()) {
      auto c = NodeConnection::open(host, port, Clock::now() + timeout_);
      if (!c) return c.error();
      it = conns_.emplace(key, std::move(*c)).first;
    }
    auto r = it->second.call_many(cmds, Clock::now() + timeout_);
    if (!r) conns_.erase(it);
    return r;
  }
  result<resp::Value> call(const std::string& host, uint16_t port,
                           const std::vector<std::string>& argv) {
    auto r = call_many(host, port, {argv});
    if (!r) return r.error();
    return std::move(r->front());
  }

 private:
  Duration timeout_;
  std::map<std::string, NodeConnection> conns_;
};

// Sends `cmds` in batches of `batch`; the replies in order, or the first error.
result<std::vector<resp::Value>> batched(Connections& conns, const CollectTarget& t,
                                         const Commands& cmds, size_t batch) {
  std::vector<resp::Value> out;
  out.reserve(cmds.size());
  for (size_t i = 0; i < cmds.size(); i += batch) {
    Commands part(cmds.begin() + static_cast<ptrdiff_t>(i),
                  cmds.begin() + static_cast<ptrdiff_t>(std::min(cmds.size(), i + batch)));
    auto r = conns.call_many(t.host, t.port, part);
    if (!r) return r.error();
    for (auto& v : *r) out.push_back(std::move(v));
  }
  return out;
}

std::optional<std::string> bulk_or_nil(const resp::Value& v) {
  if (v.type == resp::Type::bulk_string || v.type == resp::Type::simple_string) return v.str;
  return std::nullopt;
}

// The keys a cache node holds, page by page.
result<std::vector<std::string>> cache_keys(Connections& conns, const CollectTarget& t,
                                            int batch) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  for (int pages = 0;; ++pages) {
    auto r = conns.call(t.host, t.port, {"CACHE.KEYS", cursor, "COUNT", std::to_string(batch)});
    if (!r) return r.error();
    if (r->type != resp::Type::array || r->elements.size() != 2 ||
        r->elements[1].type != resp::Type::array) {
      return Error(errc::protocol_error,
                   fmt::format("CACHE.KEYS on {}: {}", t.id, describe(*r)));
    }
    for (const auto& k : r->elements[1].elements) keys.push_back(k.str);
    cursor = r->elements[0].type == resp::Type::integer ? std::to_string(r->elements[0].integer)
                                                        : r->elements[0].str;
    if (cursor == "0") break;
    if (pages > 10'000'000) return Error(errc::protocol_error, "CACHE.KEYS never ends");
  }
  return keys;
}

}  // namespace

std::vector<check::NodeStats> collect_info(const std::vector<CollectTarget>& targets,
                                           const CollectOptions& options) {
  std::vector<check::NodeStats> out;
  Connections conns(options.timeout);
  for (const auto& t : targets) {
    if (t.kind == "external") continue;
    check::NodeStats n;
    n.id = t.id;
    n.group = t.group;
    n.kind = t.kind;
    n.shard = t.shard;
    n.address = fmt::format("{}:{}", t.host, t.port);
    n.running = t.running;
    if (!t.running) {
      n.error = "not running";
    } else if (auto r = conns.call(t.host, t.port, {"INFO"}); !r) {
      n.error = r.error().message;
    } else if (r->type != resp::Type::bulk_string) {
      n.error = "INFO: " + describe(*r);
    } else {
      n.info = check::parse_info(r->str);
    }
    out.push_back(std::move(n));
  }
  return out;
}

check::ConvergenceEvidence collect_convergence(const std::vector<CollectTarget>& targets,
                                               const CollectOptions& options) {
  const auto start = Clock::now();
  check::ConvergenceEvidence e;
  e.deadline_ns = options.deadline.count();
  Connections conns(options.timeout);
  const size_t batch = static_cast<size_t>(std::max(options.batch, 1));

  // Digests, shard by shard.
  std::map<int, std::vector<const CollectTarget*>> shards;
  for (const auto& t : targets) {
    if (t.kind == "db") shards[std::max(t.shard, 0)].push_back(&t);
  }
  if (!options.compare_digests) {
    e.digests_skipped = "quorum replication: the nodes of a ring hold different keys";
  } else {
    for (const auto& [shard, members] : shards) {
      check::ShardDigests s;
      s.shard = shard;
      for (const auto* t : members) {
        check::DigestReading d;
        d.node = t->id;
        d.running = t->running;
        if (t->running) {
          auto r = conns.call(t->host, t->port, {"DIGEST"});
          if (!r) {
            d.error = r.error().message;
          } else if (r->type == resp::Type::bulk_string || r->type == resp::Type::simple_string) {
            d.digest = r->str;
          } else {
            d.error = "DIGEST: " + describe(*r);
          }
        }
        s.replicas.push_back(std::move(d));
      }
      e.shards.push_back(std::move(s));
    }
  }

  // Each shard's master: the running member whose ROLE says so, else the first running one.
  std::map<int, const CollectTarget*> masters;
  for (const auto& [shard, members] : shards) {
    for (const auto* t : members) {
      if (!t->running) continue;
      if (!masters.count(shard)) masters[shard] = t;
      auto r = conns.call(t->host, t->port, {"ROLE"});
      if (r && r->type == resp::Type::array && !r->elements.empty() &&
          r->elements[0].str == "master") {
        masters[shard] = t;
        break;
      }
    }
  }

  // Cache entries against the DB, in rounds until they agree or the deadline passes.
  const auto deadline = Clock::now() + options.deadline;
  for (const auto& t : targets) {
    if (t.kind != "cache") continue;
    check::CacheReading c;
    c.node = t.id;
    c.running = t.running;
    if (!t.running) {
      e.caches.push_back(std::move(c));
      continue;
    }
    auto keys = cache_keys(conns, t, options.batch);
    if (!keys) {
      c.error = keys.error().message;
      e.caches.push_back(std::move(c));
      continue;
    }
    c.entries = keys->size();
    std::vector<std::string> pending = std::move(*keys);
    std::vector<check::CacheMismatch> differ;
    for (int round = 1;; ++round) {
      e.attempts = std::max(e.attempts, round);
      differ.clear();
      Commands peeks;
      for (const auto& k : pending) peeks.push_back({"CACHE.PEEK", k});
      auto cached = batched(conns, t, peeks, batch);
      if (!cached) {
        c.error = cached.error().message;
        break;
      }
      // The keys still cached, grouped by shard.
      std::map<int, std::vector<size_t>> by_shard;
      std::vector<std::optional<std::string>> values(pending.size());
      size_t still = 0;
      for (size_t i = 0; i < pending.size(); ++i) {
        values[i] = bulk_or_nil((*cached)[i]);
        if (!values[i]) continue;  // evicted or invalidated since: nothing served, nothing wrong
        ++still;
        by_shard[shard_of(pending[i], std::max(options.shards, 1))].push_back(i);
      }
      if (round == 1) c.compared = still;
      for (const auto& [shard, idx] : by_shard) {
        auto m = masters.find(shard);
        if (m == masters.end()) {
          for (size_t i : idx) {
            differ.push_back({pending[i], values[i], std::nullopt,
                              fmt::format("no running db node of shard {}", shard)});
          }
          continue;
        }
        Commands gets;
        for (size_t i : idx) gets.push_back({"GET", pending[i]});
        auto db = batched(conns, *m->second, gets, batch);
        for (size_t j = 0; j < idx.size(); ++j) {
          const size_t i = idx[j];
          if (!db) {
            differ.push_back({pending[i], values[i], std::nullopt, db.error().message});
            continue;
          }
          const resp::Value& v = (*db)[j];
          if (v.type == resp::Type::error) {
            differ.push_back({pending[i], values[i], std::nullopt, "GET: " + v.str});
            continue;
          }
          auto dbv = bulk_or_nil(v);
          if (dbv != values[i]) differ.push_back({pending[i], values[i], dbv, {}});
        }
      }
      if (differ.empty() || Clock::now() + options.retry_pause >= deadline) break;
      std::this_thread::sleep_for(options.retry_pause);
      pending.clear();
      for (const auto& d : differ) pending.push_back(d.key);
    }
    c.mismatches = std::move(differ);
    e.caches.push_back(std::move(c));
  }
  e.elapsed_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count();
  return e;
}

}  // namespace fl::run
