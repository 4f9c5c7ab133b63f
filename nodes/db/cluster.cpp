#include "nodes/db/cluster.h"

#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <unordered_map>

#include "common/hash_ring.h"
#include "common/log.h"
#include "common/resp/resp.h"
#include "nodes/common/peer_links.h"
#include "nodes/db/quorum_node.h"
#include "nodes/db/store.h"
#include "nodes/db/wal.h"

namespace fl::db {
namespace {

using nodes::iequals;

// How often the node tells every peer its role and term (the shard-map poll).
constexpr int64_t kStatusPeriodMs = 200;
// Backend timers (elections, heartbeats, request deadlines).
constexpr auto kTickPeriod = std::chrono::milliseconds(10);
// Active expiry of an in-memory standalone node, as before clusters existed.
constexpr int64_t kSweepPeriodMs = 100;
constexpr size_t kSweepMax = 10000;
constexpr std::string_view kNodeStatus = "NODE.STATUS";

// Milliseconds of std::chrono::steady_clock: the replication timers' clock, which never jumps.
class SteadyClock final : public Clock {
 public:
  TimeMs now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
};
const SteadyClock kSteady;
const SystemClock kSystem;

// Hands a client command to a component that answers through a callback, now or later. A reply
// given during the call is appended to the connection's buffer at once (no allocation for the
// deferral); otherwise the command's reply is deferred and completed when the callback runs.
class ReplyBridge {
 public:
  using Reply = std::function<void(std::string)>;

  template <typename Call>
  void run(nodes::CommandContext& ctx, Call&& call) {
    const uint64_t seq = ++seq_;
    current_ = &ctx;
    current_seq_ = seq;
    answered_ = false;
    // Captures 16 trivially copyable bytes: std::function keeps them inline.
    call(Reply([this, seq](std::string bytes) { on_reply(seq, std::move(bytes)); }));
    current_ = nullptr;
    if (!answered_) waiting_.emplace(seq, ctx.defer());
  }

 private:
  void on_reply(uint64_t seq, std::string bytes) {
    if (current_ && seq == current_seq_) {
      answered_ = true;
      current_->reply_encoded(bytes);
      return;
    }
    auto it = waiting_.find(seq);
    if (it == waiting_.end()) return;
    it->second.complete(std::move(bytes));
    waiting_.erase(it);
  }

  uint64_t seq_ = 0;
  nodes::CommandContext* current_ = nullptr;
  uint64_t current_seq_ = 0;
  bool answered_ = false;
  std::unordered_map<uint64_t, nodes::DeferredReply> waiting_;
};

}  // namespace

std::string_view to_string(ClusterMode m) {
  switch (m) {
    case ClusterMode::async:
      return "async";
    case ClusterMode::sync:
      return "sync";
    case ClusterMode::quorum:
      return "quorum";
  }
  return "?";
}

const std::vector<std::string_view>& known_bugs() {
  static const std::vector<std::string_view> kBugs = {"ack-before-majority", "ack-before-log",
                                                      "quorum-read-one", "no-fencing"};
  return kBugs;
}

result<void> validate(const ClusterOptions& o) {
  if (o.members.empty()) {
    if (o.shard != 0)
      return Error(errc::invalid_argument, "--shard needs --member (standalone is shard 0)");
    if (o.mode == ClusterMode::quorum) {
      return Error(errc::invalid_argument, "--replication quorum needs --member");
    }
    return {};
  }
  std::set<std::string> ids;
  std::set<int> shards;
  bool self = false;
  for (const ShardMember& m : o.members) {
    if (!ids.insert(m.id).second) {
      return Error(errc::invalid_argument, fmt::format("--member: node id '{}' twice", m.id));
    }
    if (m.shard < 0) return Error(errc::invalid_argument, "--member: negative shard");
    shards.insert(m.shard);
    if (m.id == o.id) {
      self = true;
      if (m.shard != o.shard) {
        return Error(
            errc::invalid_argument,
            fmt::format("--member {} says shard {} but --shard is {}", m.id, m.shard, o.shard));
      }
    }
  }
  if (!self) {
    return Error(errc::invalid_argument,
                 fmt::format("--id {} is not among the --member entries", o.id));
  }
  if (*shards.rbegin() != static_cast<int>(shards.size()) - 1) {
    return Error(errc::invalid_argument, "--member: shards must be numbered 0..S-1");
  }
  if (o.mode == ClusterMode::quorum) {
    if (shards.size() != 1) {
      return Error(errc::invalid_argument, "--replication quorum: every member has shard 0");
    }
    const int n = static_cast<int>(o.members.size());
    if (o.quorum_n < 1 || o.quorum_n > n || o.quorum_w < 1 || o.quorum_w > o.quorum_n ||
        o.quorum_r < 1 || o.quorum_r > o.quorum_n) {
      return Error(errc::invalid_argument,
                   fmt::format("quorum sizes need 1 <= W, R <= N <= members ({}): N={} W={} R={}",
                               n, o.quorum_n, o.quorum_w, o.quorum_r));
    }
  }
  return {};
}

// ---- Backends: where this node's own shard's commands go ----

class ClusterNode::Backend {
 public:
  virtual ~Backend() = default;
  virtual result<void> open() = 0;
  // Answers a client command into ctx: appended to ctx.out, or deferred.
  virtual void execute(nodes::CommandContext& ctx) = 0;
  virtual void on_peer_message(std::span<const std::string_view> argv, TimeMs now) = 0;
  virtual void tick(TimeMs now) = 0;
  virtual ReplicationStatus status() const = 0;
};

// A standalone in-memory node: the command table over a Store, exactly as before clusters.
// With a change sink, every write that did not answer an error publishes its keys (its index
// counts the node's writes since it started).
class ClusterNode::LocalBackend final : public ClusterNode::Backend,
                                        private ReplicationStatusSource {
 public:
  LocalBackend(const ClusterOptions& o, const nodes::ServerStats& stats, ChangeSink* changes)
      : store_(kSystem), commands_(store_, stats, o.db), changes_(changes) {
    commands_.register_all(table_);
    if (changes_) commands_.set_replication_source(this);
  }
  result<void> open() override { return {}; }
  void execute(nodes::CommandContext& ctx) override {
    const CommandInfo* info =
        changes_ && ctx.buffer ? DbCommands::command_info(ctx.argv[0]) : nullptr;
    const size_t at = ctx.buffer ? ctx.buffer->size() : 0;
    ctx.deferred = table_.dispatch(ctx.argv, ctx.out, ctx.session, ctx.buffer);
    if (!info || !info->write || ctx.deferred || ctx.buffer->size() <= at ||
        (*ctx.buffer)[at] == '-') {
      return;
    }
    std::string op(ctx.argv[0]);
    for (char& c : op) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ++writes_;
    const auto event = [&](std::string_view key) {
      changes_->publish(ChangeEvent{std::string(key), op, 0, writes_, ctx.session.name});
    };
    if (info->first_key == 0) return event("");
    const int argc = static_cast<int>(ctx.argv.size());
    const int last = info->last_key < 0 ? argc + info->last_key : info->last_key;
    for (int i = info->first_key; i <= std::min(last, argc - 1); i += std::max(1, info->step)) {
      event(ctx.argv[static_cast<size_t>(i)]);
    }
  }
  void on_peer_message(std::span<const std::string_view>, TimeMs) override {}
  void tick(TimeMs now) override {
    if (now - last_sweep_ >= kSweepPeriodMs) {
      last_sweep_ = now;
      commands_.sweep(kSweepMax);
    }
  }
  ReplicationStatus status() const override { return {}; }

 private:
  ReplicationStatus replication_status() const override { return {}; }
  std::string persistence_info() const override { return "wal_enabled:0\r\n"; }
  std::string changes_info() const override { return changes_->info(); }

  Store store_;
  DbCommands commands_;
  nodes::CommandTable table_;
  TimeMs last_sweep_ = 0;
  ChangeSink* changes_;
  uint64_t writes_ = 0;
};

// A replica of a master/slave shard group (async or sync mode, or durable standalone).
class ClusterNode::ReplicaBackend final : public ClusterNode::Backend {
 public:
  ReplicaBackend(const ClusterOptions& o, const nodes::ServerStats& stats, ShardReplica::Send send,
                 ChangeSink* changes)
      : replica_(options_for(o, stats, changes), kSystem, std::move(send)) {}
  result<void> open() override { return replica_.open(); }
  void execute(nodes::CommandContext& ctx) override {
    bridge_.run(ctx, [&](ReplyBridge::Reply reply) {
      replica_.execute(ctx.argv, ctx.session, std::move(reply));
    });
  }
  void on_peer_message(std::span<const std::string_view> argv, TimeMs now) override {
    replica_.on_peer_message(argv, now);
  }
  void tick(TimeMs now) override {
    replica_.tick(now);
    if (replica_.storage_failed()) {
      // Fail-stop: a replica that cannot keep its log must neither stay master (its shard would
      // refuse writes for good) nor confirm Appends; exiting lets the shard fail over.
      log::error("{}: the write-ahead log failed (an I/O error); stopping", replica_.options().id);
      std::fflush(nullptr);
      std::_Exit(1);
    }
  }
  ReplicationStatus status() const override { return replica_.replication_status(); }

 private:
  static ShardOptions options_for(const ClusterOptions& o, const nodes::ServerStats& stats,
                                  ChangeSink* changes) {
    ShardOptions s;
    s.changes = changes;
    s.id = o.id;
    s.shard = o.shard;
    for (const ShardMember& m : o.members) {
      if (m.shard == o.shard) s.members.push_back(m);
    }
    s.mode = o.mode == ClusterMode::async ? ReplicationMode::async : ReplicationMode::sync;
    s.reads = o.reads;
    s.fsync = o.fsync;
    s.dir = o.dir;
    s.heartbeat_ms = o.heartbeat_ms;
    s.election_timeout_ms = o.election_timeout_ms;
    s.lease_ms = o.lease_ms;
    s.snapshot_every = o.snapshot_every;
    s.seed = o.seed;
    for (const std::string& b : o.bugs) {
      if (b == "ack-before-majority") s.bugs.ack_before_majority = true;
      if (b == "ack-before-log") s.bugs.ack_before_log = true;
      if (b == "no-fencing") s.bugs.no_fencing = true;
    }
    s.db = o.db;
    s.server_stats = &stats;
    s.replication_clock = &kSteady;
    return s;
  }
  ShardReplica replica_;
  ReplyBridge bridge_;
};

// A node of a leaderless quorum cluster: key commands are coordinated by the QuorumNode; the
// admin commands (PING, INFO, ROLE, ...) answered by the ordinary table over an empty store.
class ClusterNode::QuorumBackend final : public ClusterNode::Backend {
 public:
  QuorumBackend(const ClusterOptions& o, const nodes::ServerStats& stats, QuorumNode::Send send)
      : node_(options_for(o), kSteady, std::move(send)),
        store_(kSystem),
        commands_(store_, stats, o.db) {
    commands_.register_all(table_);
  }
  result<void> open() override { return node_.open(); }
  void execute(nodes::CommandContext& ctx) override {
    if (iequals(ctx.argv[0], "info")) return info(ctx);
    if (iequals(ctx.argv[0], "digest")) {
      // The admin table's store is empty; each key lives on its own N replicas.
      return ctx.out.error("ERR DIGEST is not supported in quorum mode");
    }
    if (!QuorumNode::handles(ctx.argv[0])) {
      ctx.deferred = table_.dispatch(ctx.argv, ctx.out, ctx.session, ctx.buffer);
      return;
    }
    bridge_.run(ctx, [&](ReplyBridge::Reply reply) {
      node_.execute(ctx.argv, ctx.session, std::move(reply));
    });
  }
  void on_peer_message(std::span<const std::string_view> argv, TimeMs now) override {
    node_.on_peer_message(argv, now);
  }
  void tick(TimeMs now) override { node_.tick(now); }
  ReplicationStatus status() const override { return {}; }

 private:
  // INFO as the ordinary table answers it, plus the quorum section when asked for (by name, or
  // no section, "all", "everything").
  void info(nodes::CommandContext& ctx) {
    bool with_quorum = ctx.argv.size() == 1;
    for (size_t i = 1; i < ctx.argv.size(); ++i) {
      for (std::string_view w : {"quorum", "all", "everything", "default"}) {
        if (iequals(ctx.argv[i], w)) with_quorum = true;
      }
    }
    std::string plain;
    resp::Writer w(plain);
    table_.dispatch(ctx.argv, w, ctx.session, &plain);
    resp::Parser parser;
    parser.feed(plain);
    resp::Value v;
    if (!with_quorum || parser.next(v) != resp::Status::ok || v.type != resp::Type::bulk_string) {
      ctx.reply_encoded(plain);
      return;
    }
    if (!v.str.empty()) v.str += "\r\n";
    v.str += node_.info_section();
    ctx.out.bulk(v.str);
  }

  static QuorumOptions options_for(const ClusterOptions& o) {
    QuorumOptions q;
    q.id = o.id;
    for (const ShardMember& m : o.members) {
      q.members.push_back({m.id, fmt::format("{}:{}", m.host, m.port)});
    }
    q.n = o.quorum_n;
    q.w = o.quorum_w;
    q.r = o.quorum_r;
    q.timeout_ms = o.quorum_timeout_ms;
    q.dir = o.dir;
    q.fsync = o.fsync;
    q.snapshot_every = o.snapshot_every;
    q.bugs = o.bugs;
    return q;
  }
  QuorumNode node_;
  ReplyBridge bridge_;
  Store store_;
  DbCommands commands_;
  nodes::CommandTable table_;
};

// ---- ClusterNode ----

ClusterNode::ClusterNode(ClusterOptions options, nodes::RespServer& server,
                         const nodes::ServerStats& stats)
    : options_(std::move(options)), server_(server), stats_(stats) {
  std::set<int> shards;
  for (const ShardMember& m : options_.members) shards.insert(m.shard);
  shard_count_ = std::max<int>(1, static_cast<int>(shards.size()));
  if (options_.mode == ClusterMode::quorum) shard_count_ = 1;
}

ClusterNode::~ClusterNode() = default;

result<void> ClusterNode::start(nodes::CommandTable& table) {
  links_ = std::make_unique<nodes::PeerLinks>(server_);
  for (const ShardMember& m : options_.members) {
    if (m.id != options_.id) links_->add_peer(m.id, m.host, m.port);
  }
  auto send = [this](const std::string& peer, std::vector<std::string> argv) {
    links_->send(peer, argv);
  };
  if (options_.mode == ClusterMode::quorum) {
    backend_ = std::make_unique<QuorumBackend>(options_, stats_, send);
  } else {
    if (options_.broker_port != 0) {
      ChangePublisherOptions co;
      co.host = options_.broker_host;
      co.port = options_.broker_port;
      co.topic = options_.changes_topic;
      co.client_name = options_.id;
      changes_ = std::make_unique<ChangePublisher>(server_.io(), co);
      server_.on_stop([this] { changes_->close(); });
    }
    if (!options_.members.empty() || !options_.dir.empty()) {
      backend_ = std::make_unique<ReplicaBackend>(options_, stats_, send, changes_.get());
    }
    if (!backend_) backend_ = std::make_unique<LocalBackend>(options_, stats_, changes_.get());
  }
  if (auto r = backend_->open(); !r) return r;

  table.add("cluster", -2, [this](nodes::CommandContext& c) { cluster_command(c); });
  table.set_fallback([this](nodes::CommandContext& c) { route(c); });
  server_.every(kTickPeriod, [this] {
    const TimeMs now = kSteady.now_ms();
    backend_->tick(now);
    if (options_.members.empty()) return;
    // Periodically, and at once when this node's role, term or master changed (so the other
    // shards redirect to a new master without waiting for the next period).
    const ReplicationStatus r = backend_->status();
    const bool changed =
        r.role != last_role_ || r.term != last_term_ || r.master_id != last_master_;
    if (changed || now - last_broadcast_ms_ >= kStatusPeriodMs) {
      last_broadcast_ms_ = now;
      last_role_ = r.role;
      last_term_ = r.term;
      last_master_ = r.master_id;
      broadcast_status();
    }
  });
  return {};
}

int ClusterNode::shard_of_key(std::string_view key) const {
  return shard_count_ <= 1 ? 0 : fl::shard_of(key, shard_count_);
}

void ClusterNode::route(nodes::CommandContext& ctx) {
  const std::string_view name = ctx.argv[0];
  if (is_replication_message(name) || QuorumNode::is_peer_command(name) ||
      iequals(name, kNodeStatus)) {
    on_peer(ctx);
    return;
  }
  if (ctx.argv.size() == 2 && iequals(name, "info") && iequals(ctx.argv[1], "peers")) {
    std::string text = "# Peers\r\n";
    size_t i = 0;
    for (const nodes::PeerLinkStats& p : links_->stats()) {
      text += fmt::format(
          "peer{}:id={},addr={},connected={},connects={},sent={},dropped={},queued={}\r\n", i++,
          p.peer_id, p.address, p.connected ? 1 : 0, p.connects, p.sent, p.dropped, p.queued);
    }
    ctx.out.bulk(text);
    return;
  }
  if (shard_count_ > 1) {
    const CommandInfo* info = DbCommands::command_info(name);
    const int argc = static_cast<int>(ctx.argv.size());
    if (info && info->first_key > 0 && info->first_key < argc) {
      const int last = info->last_key < 0 ? argc + info->last_key : info->last_key;
      const int step = std::max(1, info->step);
      int shard = -1;
      for (int i = info->first_key; i <= std::min(last, argc - 1); i += step) {
        const int s = shard_of_key(ctx.argv[static_cast<size_t>(i)]);
        if (shard >= 0 && s != shard) {
          ctx.out.error("CROSSSLOT Keys in request don't hash to the same slot");
          return;
        }
        shard = s;
      }
      if (shard >= 0 && shard != options_.shard) {
        ctx.out.error(redirect(shard));
        return;
      }
    }
  }
  backend_->execute(ctx);
}

void ClusterNode::on_peer(nodes::CommandContext& ctx) {
  // One-way: the sender discards this +OK; any answer goes back on our own link to it.
  ctx.out.simple("OK");
  if (iequals(ctx.argv[0], kNodeStatus)) {
    on_node_status(ctx.argv);
    return;
  }
  backend_->on_peer_message(ctx.argv, kSteady.now_ms());
}

// NODE.STATUS <id> <shard> <role> <term> <master_id> <offset>
void ClusterNode::on_node_status(std::span<const std::string_view> argv) {
  if (argv.size() != 7) return;
  const ShardMember* m = member(argv[1]);
  if (!m) return;
  NodeStatus s;
  s.role = std::string(argv[3]);
  try {
    s.term = std::stoull(std::string(argv[4]));
    s.offset = std::stoull(std::string(argv[6]));
  } catch (const std::exception&) {
    return;
  }
  s.master_id = std::string(argv[5]);
  s.heard_ms = kSteady.now_ms();
  statuses_[m->id] = std::move(s);
}

NodeStatus ClusterNode::own_status() const {
  const ReplicationStatus r = backend_->status();
  NodeStatus s;
  s.role = r.role;
  s.term = r.term;
  s.master_id = r.role == "master" ? options_.id : r.master_id;
  s.offset = r.last_index;
  s.heard_ms = kSteady.now_ms();
  return s;
}

void ClusterNode::broadcast_status() {
  const NodeStatus s = own_status();
  std::vector<std::string> argv = {
      std::string(kNodeStatus), options_.id, std::to_string(options_.shard), s.role,
      std::to_string(s.term),   s.master_id, std::to_string(s.offset)};
  for (const ShardMember& m : options_.members) {
    if (m.id != options_.id) links_->send(m.id, argv);
  }
}

const ShardMember* ClusterNode::member(std::string_view id) const {
  for (const ShardMember& m : options_.members) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

const ShardMember* ClusterNode::known_master(int shard, uint64_t* term) const {
  if (shard == options_.shard) {
    const ReplicationStatus r = backend_->status();
    if (term) *term = r.term;
    if (r.role == "master") return member(options_.id);
    return member(r.master_id);
  }
  // The claim with the highest term: a master's own, or a slave's belief.
  const ShardMember* best = nullptr;
  uint64_t best_term = 0;
  bool best_is_self_claim = false;
  for (const auto& [id, s] : statuses_) {
    const ShardMember* m = member(id);
    if (!m || m->shard != shard) continue;
    const bool self_claim = s.role == "master";
    const ShardMember* candidate = self_claim ? m : member(s.master_id);
    if (!candidate) continue;
    if (!best || s.term > best_term || (s.term == best_term && self_claim && !best_is_self_claim)) {
      best = candidate;
      best_term = s.term;
      best_is_self_claim = self_claim;
    }
  }
  if (term) *term = best_term;
  return best;
}

std::string ClusterNode::redirect(int shard) const {
  const ShardMember* m = known_master(shard);
  if (!m) {
    // No master known here: send the client to any member of the shard, which knows better.
    for (const ShardMember& x : options_.members) {
      if (x.shard == shard) {
        m = &x;
        break;
      }
    }
  }
  if (!m) return fmt::format("CLUSTERDOWN shard {} has no master", shard);
  return fmt::format("MOVED {} {}:{} {}", shard, m->host, m->port, m->id);
}

void ClusterNode::cluster_command(nodes::CommandContext& ctx) {
  const std::string_view sub = ctx.argv[1];
  if (iequals(sub, "shards") && ctx.argv.size() == 2) return cluster_shards(ctx);
  if (iequals(sub, "myid") && ctx.argv.size() == 2) return ctx.out.bulk(options_.id);
  if (iequals(sub, "keyshard") && ctx.argv.size() == 3) {
    return ctx.out.integer(shard_of_key(ctx.argv[2]));
  }
  ctx.out.error(fmt::format("ERR unknown subcommand '{}'. Try CLUSTER SHARDS, MYID, KEYSHARD.",
                            sub.substr(0, 64)));
}

// [shard_id, master_addr_or_empty, term, [[node_id, "host:port", role, term, offset], ...]]
void ClusterNode::cluster_shards(nodes::CommandContext& ctx) {
  std::vector<ShardMember> members = options_.members;
  if (members.empty()) {
    members.push_back({options_.id, 0, options_.host, options_.port});
  }
  ctx.out.array_header(static_cast<size_t>(shard_count_));
  for (int shard = 0; shard < shard_count_; ++shard) {
    uint64_t term = 0;
    const ShardMember* master =
        options_.members.empty() ? &members.front() : known_master(shard, &term);
    if (options_.mode == ClusterMode::quorum) master = nullptr;
    std::vector<const ShardMember*> in_shard;
    for (const ShardMember& m : members) {
      if (m.shard == shard) in_shard.push_back(&m);
    }
    ctx.out.array_header(4);
    ctx.out.integer(shard);
    ctx.out.bulk(master ? fmt::format("{}:{}", master->host, master->port) : "");
    ctx.out.integer(static_cast<int64_t>(term));
    ctx.out.array_header(in_shard.size());
    for (const ShardMember* m : in_shard) {
      NodeStatus s;
      if (m->id == options_.id) {
        s = own_status();
      } else if (auto it = statuses_.find(m->id); it != statuses_.end()) {
        s = it->second;
      }
      ctx.out.array_header(5);
      ctx.out.bulk(m->id);
      ctx.out.bulk(fmt::format("{}:{}", m->host, m->port));
      ctx.out.bulk(s.role.empty() ? "unknown" : s.role);
      ctx.out.integer(static_cast<int64_t>(s.term));
      ctx.out.integer(static_cast<int64_t>(s.offset));
    }
  }
}

}  // namespace fl::db
