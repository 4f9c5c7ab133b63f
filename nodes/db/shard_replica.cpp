#include "nodes/db/shard_replica.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <limits>

#include "common/log.h"
#include "common/resp/resp.h"
#include "nodes/db/snapshot.h"

namespace fl::db {

std::string_view to_string(ReadPolicy p) {
  switch (p) {
    case ReadPolicy::master:
      return "master";
    case ReadPolicy::slaves:
      return "slaves";
    case ReadPolicy::any:
      return "any";
  }
  return "?";
}

namespace {

using nodes::iequals;

// How long a write whose master stepped down waits for its fate before -NOQUORUM.
constexpr TimePoint kFateWaitMs = 1000;
// ack-before-log: the period of the batched WAL writes.
constexpr TimePoint kBugBatchMs = 200;
constexpr TimePoint kSweepMs = 100;
constexpr size_t kSweepMax = 1000;

// Entry data: the argv, each argument as u32 little-endian length + bytes. Never empty (the
// master's no-op is the empty string).
std::string encode_argv(std::span<const std::string_view> argv) {
  std::string out;
  size_t n = 0;
  for (auto a : argv) n += 4 + a.size();
  out.reserve(n);
  for (auto a : argv) {
    const auto len = static_cast<uint32_t>(a.size());
    char b[4] = {static_cast<char>(len & 0xff), static_cast<char>((len >> 8) & 0xff),
                 static_cast<char>((len >> 16) & 0xff), static_cast<char>((len >> 24) & 0xff)};
    out.append(b, 4);
    out.append(a);
  }
  return out;
}

bool decode_argv(std::string_view data, std::vector<std::string_view>& argv) {
  argv.clear();
  size_t pos = 0;
  while (pos < data.size()) {
    if (data.size() - pos < 4) return false;
    const auto* u = reinterpret_cast<const unsigned char*>(data.data() + pos);
    const uint32_t len = u[0] | (u[1] << 8) | (u[2] << 16) | (static_cast<uint32_t>(u[3]) << 24);
    pos += 4;
    if (data.size() - pos < len) return false;
    argv.push_back(data.substr(pos, len));
    pos += len;
  }
  return !argv.empty();
}

bool parse_i64(std::string_view s, int64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string error_reply(std::string_view text) {
  std::string out;
  resp::Writer(out).error(text);
  return out;
}

std::string encode_meta(uint64_t term, const std::string& vote) {
  return std::to_string(term) + "\n" + vote;
}

void decode_meta(const std::string& meta, uint64_t& term, std::string& vote) {
  const size_t nl = meta.find('\n');
  if (nl == std::string::npos) return;
  auto [p, ec] = std::from_chars(meta.data(), meta.data() + nl, term);
  (void)p;
  if (ec != std::errc()) term = 0;
  vote = meta.substr(nl + 1);
}

}  // namespace

// The core's durable state over the WAL (or nowhere, without a directory). With the
// ack-before-log bug, entries are buffered and written in a batch every 200 ms.
class ShardReplica::Storage final : public ReplicationStorage {
 public:
  Storage(std::unique_ptr<Wal> wal, bool batch) : wal_(std::move(wal)), batch_(batch) {}

  void save_term_vote(uint64_t term, const std::string& vote) override {
    if (wal_) wal_->save_meta(encode_meta(term, vote));
  }
  void append(const LogEntry& e) override {
    if (!wal_) return;
    if (batch_) {
      buffered_.push_back(e);
      return;
    }
    wal_->append(WalRecord{e.index, e.term, e.data});
  }
  void truncate_after(uint64_t index) override {
    std::erase_if(buffered_, [&](const LogEntry& e) { return e.index > index; });
    if (wal_ && index < wal_->last_index()) wal_->truncate_after(index);
  }
  void install_snapshot(uint64_t index, uint64_t term, const std::string& data) override {
    buffered_.clear();
    if (!wal_) return;
    wal_->truncate_after(index);
    if (auto r = wal_->write_snapshot(WalSnapshot{index, term, data}); !r) {
      // The snapshot replaces state this node no longer holds: without it on disk the node
      // must not confirm it (fail-stop, as for any log failure).
      log::error("wal: cannot write snapshot: {}", r.error().message);
      sync_failed_ = true;
    }
  }
  // A compaction snapshot of the applied state.
  void snapshot(uint64_t index, uint64_t term, const std::string& data) {
    write_batch();
    if (!wal_) return;
    if (auto r = wal_->write_snapshot(WalSnapshot{index, term, data}); !r) {
      log::error("wal: cannot write snapshot: {}", r.error().message);
    }
  }
  void write_batch() {
    if (!wal_) return buffered_.clear();
    for (const LogEntry& e : buffered_) wal_->append(WalRecord{e.index, e.term, e.data});
    buffered_.clear();
  }
  void sync() {
    if (!wal_) return;
    if (auto r = wal_->sync(); !r && !sync_failed_) {
      sync_failed_ = true;
      log::error("wal: {}", r.error().message);
    }
  }
  bool has_wal() const { return wal_ != nullptr; }
  const Wal* wal() const { return wal_.get(); }
  bool failed() const { return sync_failed_ || (wal_ && !wal_->status()); }

 private:
  std::unique_ptr<Wal> wal_;
  bool batch_;
  std::vector<LogEntry> buffered_;
  bool sync_failed_ = false;
};

ShardReplica::ShardReplica(ShardOptions options, const Clock& clock, Send send)
    : options_(std::move(options)),
      clock_(clock),
      replication_clock_(options_.replication_clock ? *options_.replication_clock : clock),
      send_(std::move(send)),
      store_(clock),
      commands_(store_, options_.server_stats ? *options_.server_stats : no_stats_, options_.db) {
  commands_.register_all(table_);
  commands_.set_replication_source(this);
}

ShardReplica::~ShardReplica() = default;

result<void> ShardReplica::open() {
  ReplicationRecovery rec;
  std::unique_ptr<Wal> wal;
  if (!options_.dir.empty()) {
    WalRecovery found;
    auto opened = Wal::open(options_.dir, options_.fsync, found);
    if (!opened) return opened.error();
    wal = std::move(*opened);
    if (found.torn_bytes > 0) {
      log::warn("{}: cut {} bytes of torn log tail ({})", options_.id, found.torn_bytes,
                found.torn_reason);
    }
    if (found.snapshot) {
      if (auto r = decode_store(found.snapshot->data, store_); !r) return r.error();
      rec.snapshot_index = found.snapshot->index;
      rec.snapshot_term = found.snapshot->term;
    }
    decode_meta(found.meta, rec.term, rec.voted_for);
    rec.entries.reserve(found.records.size());
    for (WalRecord& r : found.records) {
      rec.entries.push_back(LogEntry{r.index, r.term, std::move(r.data)});
    }
  }
  last_snapshot_index_ = prev_snapshot_index_ = rec.snapshot_index;
  storage_ = std::make_unique<Storage>(std::move(wal), options_.bugs.ack_before_log);

  ReplicationOptions ro;
  ro.id = options_.id;
  for (const ShardMember& m : options_.members) {
    if (m.shard == options_.shard) ro.members.push_back(m.id);
  }
  ro.mode = options_.mode;
  ro.heartbeat_ms = options_.heartbeat_ms;
  ro.election_timeout_ms = options_.election_timeout_ms;
  ro.lease_ms = options_.lease_ms;
  ro.seed = options_.seed;
  ro.bug_commit_own_log = options_.bugs.ack_before_majority || options_.bugs.ack_before_log;
  ro.bug_no_fencing = options_.bugs.no_fencing;
  const TimePoint t = now();
  last_batch_ = last_sweep_ = t;
  core_ = std::make_unique<Replication>(std::move(ro), *storage_, *this, std::move(rec), t);
  after_core(t);
  return {};
}

const ShardMember* ShardReplica::master() const {
  const std::string& id = core_->master_id();
  if (id.empty()) return nullptr;
  for (const ShardMember& m : options_.members) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

void ShardReplica::moved_or_down(const Reply& reply) {
  if (const ShardMember* m = master(); m && m->id != options_.id) {
    // The trailing id lets a client that reaches nodes by its own addresses (a proxy's client
    // link, a namespace) map the master to them; Redis clients read only the first two fields.
    return reply(error_reply(
        fmt::format("MOVED {} {}:{} {}", options_.shard, m->host, m->port, m->id)));
  }
  reply(error_reply(fmt::format("CLUSTERDOWN shard {} has no master", options_.shard)));
}

void ShardReplica::refuse(Refusal r, const Reply& reply) {
  switch (r) {
    case Refusal::not_master:
      return moved_or_down(reply);
    case Refusal::no_lease:
      return reply(error_reply("TRYAGAIN master has no lease (cannot reach a majority)"));
    case Refusal::not_ready:
      return reply(error_reply("TRYAGAIN master elected, not ready yet"));
    case Refusal::none:
      break;
  }
}

void ShardReplica::run_local(std::span<const std::string_view> argv, nodes::Session& session,
                             const Reply& reply) {
  std::string out;
  resp::Writer w(out);
  table_.dispatch(argv, w, session);
  reply(std::move(out));
}

void ShardReplica::execute(std::span<const std::string_view> argv, nodes::Session& session,
                           Reply reply) {
  const CommandInfo* info = DbCommands::command_info(argv[0]);
  if (!info) return run_local(argv, session, reply);  // keyless: PING, INFO, ROLE, ...
  const TimePoint t = now();
  if (!info->write) {
    if (options_.reads != ReadPolicy::master) return run_local(argv, session, reply);
    const Refusal r = core_->read_refusal(t);
    if (r != Refusal::none) return refuse(r, reply);
    return run_local(argv, session, reply);
  }
  if (core_->role() != Role::master) return moved_or_down(reply);
  if (storage_->failed()) {
    // Nothing can be made durable: refuse before logging, so the write is certainly not applied.
    return reply(error_reply("TRYAGAIN the write-ahead log failed on this master"));
  }
  auto p = core_->propose(entry_for(argv), t);
  if (p.refusal != Refusal::none) return refuse(p.refusal, reply);
  // An older write still waiting at this index (its master term long gone) has lost its place.
  settle(p.index, error_reply("TRYAGAIN the write was replaced by a newer master's log"));
  pending_[p.index] = Pending{p.term, std::move(reply), 0, session.name};
  core_->flush(t);
  after_core(t);
}

std::string ShardReplica::entry_for(std::span<const std::string_view> argv) const {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const TimeMs wall = clock_.now_ms();
  std::vector<std::string_view> out(argv.begin(), argv.end());
  std::vector<std::string> owned;
  owned.reserve(3);
  const std::string_view name = argv[0];
  int64_t v = 0;
  if (iequals(name, "set")) {
    for (size_t i = 3; i + 1 < argv.size(); ++i) {
      const bool ex = iequals(argv[i], "ex"), px = iequals(argv[i], "px"),
                 exat = iequals(argv[i], "exat");
      if (!ex && !px && !exat) continue;
      if (!parse_i64(argv[i + 1], v) || v <= 0) break;  // the handler reports the error
      int64_t at = 0;
      if (ex && v <= (kMax - wall) / 1000) at = wall + v * 1000;
      if (px && v <= kMax - wall) at = wall + v;
      if (exat && v <= kMax / 1000) at = v * 1000;
      if (at == 0) break;
      out[i] = "PXAT";
      owned.push_back(std::to_string(at));
      out[i + 1] = owned.back();
      break;
    }
  } else if ((iequals(name, "expire") || iequals(name, "pexpire")) && argv.size() == 3 &&
             parse_i64(argv[2], v)) {
    const int64_t unit = iequals(name, "expire") ? 1000 : 1;
    const bool fits = (v > 0 && v <= (kMax - wall) / unit) ||
                      (v <= 0 && v >= (std::numeric_limits<int64_t>::min() + wall) / unit);
    if (fits) {
      out[0] = "PEXPIREAT";
      owned.push_back(std::to_string(std::max<int64_t>(wall + v * unit, 0)));
      out[2] = owned.back();
    }
  }
  return encode_argv(out);
}

void ShardReplica::on_peer_message(std::span<const std::string_view> argv, TimePoint t) {
  auto m = decode_message(argv);
  if (!m) {
    log::warn("{}: dropped peer message: {}", options_.id, m.error().message);
    return;
  }
  core_->receive(*m, t);
  after_core(t);
}

void ShardReplica::tick(TimePoint t) {
  core_->tick(t);
  if (options_.bugs.ack_before_log && t - last_batch_ >= kBugBatchMs) {
    last_batch_ = t;
    storage_->write_batch();
    storage_->sync();
    for (Outgoing& o : held_) send_(o.to, encode_message(o.message));
    held_.clear();
  }
  for (auto& [index, p] : pending_) {
    if (p.deadline != 0 && p.deadline <= t) {
      ready_.emplace_back(std::move(p.reply),
                          error_reply("NOQUORUM the master stepped down; the write may or may "
                                      "not be applied"));
      p.reply = nullptr;
    }
  }
  std::erase_if(pending_, [](const auto& kv) { return !kv.second.reply; });
  if (t - last_sweep_ >= kSweepMs) {
    last_sweep_ = t;
    store_.sweep(kSweepMax);
  }
  after_core(t);
}

bool ShardReplica::storage_failed() const { return storage_->failed(); }

void ShardReplica::after_core(TimePoint t) {
  storage_->sync();
  auto& out = core_->outbox();
  if (storage_->failed()) {
    // What the log could not keep must not be confirmed: as master a write would not be durable,
    // as slave the confirmation would count toward a majority. Say nothing; the node stops at
    // its next tick (storage_failed()), like a crash, and the shard fails over.
    out.clear();
    return;
  }
  for (Outgoing& o : out) {
    const auto* a = std::get_if<AppendRequest>(&o.message);
    if (options_.bugs.ack_before_log && a && !a->entries.empty()) {
      held_.push_back(std::move(o));
      continue;
    }
    send_(o.to, encode_message(o.message));
  }
  out.clear();
  // A master that stepped down (or moved to a new term) gives its unsettled writes a deadline.
  if (last_role_ == Role::master &&
      (core_->role() != Role::master || core_->term() != last_term_)) {
    for (auto& [index, p] : pending_) {
      if (p.deadline == 0) p.deadline = t + kFateWaitMs;
    }
  }
  last_role_ = core_->role();
  last_term_ = core_->term();
  maybe_snapshot();
  auto ready = std::move(ready_);
  ready_.clear();
  for (auto& [reply, bytes] : ready) reply(std::move(bytes));
}

void ShardReplica::maybe_snapshot() {
  if (options_.snapshot_every == 0) return;
  const uint64_t applied = core_->applied_index();
  if (applied < last_snapshot_index_ + options_.snapshot_every) return;
  const auto term = core_->term_at(applied);
  if (!term) return;
  storage_->snapshot(applied, *term, encode_store(store_));
  // Keep one interval of entries in memory, so slaves a little behind need no snapshot.
  core_->compact(prev_snapshot_index_ = last_snapshot_index_);
  last_snapshot_index_ = applied;
}

void ShardReplica::settle(uint64_t index, std::string resp) {
  auto it = pending_.find(index);
  if (it == pending_.end()) return;
  ready_.emplace_back(std::move(it->second.reply), std::move(resp));
  pending_.erase(it);
}

void ShardReplica::apply(const LogEntry& e) {
  auto it = pending_.find(e.index);
  const bool ours = it != pending_.end() && it->second.term == e.term;
  if (it != pending_.end() && !ours) {
    settle(e.index, error_reply("TRYAGAIN the write was replaced by a newer master's log"));
  }
  if (e.data.empty()) return;  // a master's no-op
  std::vector<std::string_view> argv;
  if (!decode_argv(e.data, argv)) {
    log::error("{}: undecodable log entry {} (term {})", options_.id, e.index, e.term);
    if (ours) settle(e.index, error_reply("ERR undecodable log entry"));
    return;
  }
  apply_out_.clear();
  resp::Writer w(apply_out_);
  apply_session_.after = nodes::AfterReply::keep;
  table_.dispatch(argv, w, apply_session_);
  // core_ is null while the core replays recovered entries in its constructor: those were
  // announced (or lost) before the restart.
  if (options_.changes && core_ && core_->role() == Role::master && !apply_out_.starts_with('-')) {
    publish_changes(e, argv, ours ? it->second.origin : std::string());
  }
  if (ours) settle(e.index, apply_out_);
}

void ShardReplica::publish_changes(const LogEntry& e, std::span<const std::string_view> argv,
                                   const std::string& origin) {
  const CommandInfo* info = DbCommands::command_info(argv[0]);
  if (!info || !info->write) return;
  std::string op(argv[0]);
  for (char& c : op) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto event = [&](std::string_view key) {
    options_.changes->publish(ChangeEvent{std::string(key), op, options_.shard, e.index, origin});
  };
  if (info->first_key == 0) return event("");  // FLUSHALL / FLUSHDB: every key
  const int argc = static_cast<int>(argv.size());
  const int last = info->last_key < 0 ? argc + info->last_key : info->last_key;
  const int step = std::max(1, info->step);
  for (int i = info->first_key; i <= std::min(last, argc - 1); i += step) {
    event(argv[static_cast<size_t>(i)]);
  }
}

std::string ShardReplica::changes_info() const {
  return options_.changes ? options_.changes->info() : std::string();
}

std::string ShardReplica::snapshot() { return encode_store(store_); }

void ShardReplica::restore(uint64_t index, uint64_t, const std::string& data) {
  store_.clear();
  if (auto r = decode_store(data, store_); !r) {
    log::error("{}: bad snapshot from master: {}", options_.id, r.error().message);
  }
  // Writes this node proposed at or below the snapshot: whether they are in it is unknown.
  while (!pending_.empty() && pending_.begin()->first <= index) {
    settle(pending_.begin()->first,
           error_reply("NOQUORUM the write's fate is unknown (replaced by a full resync)"));
  }
  last_snapshot_index_ = prev_snapshot_index_ = index;
}

void ShardReplica::truncated(uint64_t index) {
  while (!pending_.empty() && pending_.rbegin()->first > index) {
    settle(pending_.rbegin()->first,
           error_reply("TRYAGAIN the write was replaced by a newer master's log"));
  }
}

std::string ShardReplica::persistence_info() const {
  const Wal* wal = storage_ ? storage_->wal() : nullptr;
  if (!wal) return "wal_enabled:0\r\n";
  const WalStats st = wal->stats();
  return fmt::format(
      "wal_enabled:1\r\nwal_fsync:{}\r\nwal_records:{}\r\nwal_bytes:{}\r\nwal_fsyncs:{}\r\n"
      "wal_last_fsync_us:{}\r\nwal_torn_bytes:{}\r\nwal_snapshots:{}\r\n"
      "wal_snapshot_index:{}\r\nwal_snapshot_bytes:{}\r\nwal_segments:{}\r\n"
      "wal_last_index:{}\r\nwal_failed:{}\r\n",
      to_string(wal->policy()), st.records, st.bytes, st.fsyncs, st.last_fsync_us, st.torn_bytes,
      st.snapshots, st.snapshot_index, st.snapshot_bytes, st.segments, st.last_index,
      st.failed ? 1 : 0);
}

ReplicationStatus ShardReplica::replication_status() const {
  ReplicationStatus s;
  const TimePoint t = now();
  const Replication& c = *core_;
  s.role = c.role() == Role::master ? "master" : "slave";
  s.term = c.term();
  s.shard = options_.shard;
  s.master_id = c.master_id();
  if (const ShardMember* m = master()) {
    s.master_host = m->host;
    s.master_port = m->port;
  }
  s.slave_state = c.role() == Role::candidate ? "election"
                  : c.awaiting_snapshot()     ? "sync"
                  : c.master_id().empty()     ? "connecting"
                                              : "connected";
  s.last_index = c.last_index();
  s.commit = c.commit_index();
  s.applied = c.applied_index();
  for (const SlaveProgress& p : c.slaves()) {
    ReplicaStatus r;
    r.id = p.id;
    for (const ShardMember& m : options_.members) {
      if (m.id == p.id) r.addr = fmt::format("{}:{}", m.host, m.port);
    }
    r.offset = p.match;
    r.lag_ms = p.last_reply == 0 ? -1 : t - p.last_reply;
    s.slaves.push_back(std::move(r));
  }
  if (c.role() == Role::master) {
    const TimePoint until = c.lease_until();
    s.lease_ms_left = until == std::numeric_limits<TimePoint>::max()
                          ? options_.lease_ms
                          : std::max<TimePoint>(0, until - t);
  }
  return s;
}

}  // namespace fl::db
