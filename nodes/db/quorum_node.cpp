#include "nodes/db/quorum_node.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <utility>

#include "common/log.h"
#include "common/resp/resp.h"
#include "nodes/common/clock.h"
#include "nodes/common/command_table.h"
#include "nodes/db/quorum.h"

namespace fl::db {

namespace {

using nodes::iequals;
using quorum::Outcome;

// Where the replica store's records go to be durable. The node appends each record its replica
// store applies, and syncs before acknowledging it.
class ReplicaLog {
 public:
  virtual ~ReplicaLog() = default;
  // Appends and makes the record as durable as the fsync policy says; false on an I/O error.
  virtual bool append(std::string_view entry_bytes) = 0;
  // Replaces everything logged so far by `store_bytes` (compaction).
  virtual void snapshot(std::string store_bytes) = 0;
};

// No persistence (QuorumOptions::dir empty): for tests.
class MemoryLog final : public ReplicaLog {
 public:
  bool append(std::string_view) override { return true; }
  void snapshot(std::string) override {}
};

// The replica store's records in the write-ahead log: each applied (key, record) is one entry
// (term 0); a snapshot is the whole store encoded.
class WalLog final : public ReplicaLog {
 public:
  explicit WalLog(std::unique_ptr<Wal> wal) : wal_(std::move(wal)) {}

  bool append(std::string_view entry_bytes) override {
    wal_->append(WalRecord{wal_->last_index() + 1, 0, std::string(entry_bytes)});
    auto synced = wal_->sync();
    if (!synced) log_failure(synced.error());
    return synced.has_value();
  }

  void snapshot(std::string store_bytes) override {
    auto written = wal_->write_snapshot(WalSnapshot{wal_->last_index(), 0, std::move(store_bytes)});
    if (!written) log_failure(written.error());
  }

 private:
  void log_failure(const Error& e) {
    if (!failed_) fl::log::error("quorum replica log: {}", e.message);
    failed_ = true;
  }
  std::unique_ptr<Wal> wal_;
  bool failed_ = false;
};

std::string resp_error(std::string_view msg) {
  std::string out;
  resp::Writer(out).error(msg);
  return out;
}

// The node's wall clock (skewed by CLOCK SET): the physical part of its hybrid timestamps.
int64_t system_us() { return nodes::node_clock().wall_ns() / 1000; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return out;
}

}  // namespace

struct QuorumNode::Impl {
  QuorumOptions options;
  const Clock& clock;
  Send send;
  std::unique_ptr<ReplicaLog> log;
  std::unique_ptr<quorum::Coordinator> coord;
  uint64_t log_records = 0;
  uint64_t since_snapshot = 0;
  uint64_t recovered_records = 0;
  bool opened = false;

  Impl(QuorumOptions o, const Clock& c, Send s)
      : options(std::move(o)), clock(c), send(std::move(s)) {
    if (!options.physical_us) options.physical_us = system_us;
    quorum::CoordinatorOptions co;
    co.self = options.id;
    for (const QuorumMember& m : options.members) co.members.push_back(m.id);
    co.n = options.n;
    co.w = options.w;
    co.r = options.r;
    co.timeout_ms = options.timeout_ms;
    co.bug_read_one = std::find(options.bugs.begin(), options.bugs.end(), "quorum-read-one") !=
                      options.bugs.end();
    coord = std::make_unique<quorum::Coordinator>(
        std::move(co), options.physical_us,
        [this](const std::string& to, const quorum::PeerMessage& m) {
          this->send(to, quorum::encode(m));
        },
        [this](std::string_view key, const quorum::Record& r) { return persist(key, r); },
        static_cast<uint64_t>(options.physical_us()));
  }

  bool persist(std::string_view key, const quorum::Record& r) {
    if (!log) return true;  // before open()
    if (!log->append(quorum::encode_entry(key, r))) return false;
    ++log_records;
    if (++since_snapshot >= std::max<uint64_t>(options.snapshot_every, 1)) {
      log->snapshot(quorum::encode_store(coord->store()));
      since_snapshot = 0;
    }
    return true;
  }

  std::string no_quorum(bool write) const {
    const QuorumOptions& o = options;
    return resp_error(write
                          ? "NOQUORUM fewer than W=" + std::to_string(o.w) +
                                " replicas acknowledged the write within " +
                                std::to_string(o.timeout_ms) + "ms; outcome unknown"
                          : "NOQUORUM fewer than R=" + std::to_string(o.r) +
                                " replicas answered within " + std::to_string(o.timeout_ms) + "ms");
  }
};

QuorumNode::QuorumNode(QuorumOptions options, const Clock& clock, Send send)
    : impl_(std::make_unique<Impl>(std::move(options), clock, std::move(send))) {}

QuorumNode::~QuorumNode() = default;

result<void> QuorumNode::open() {
  Impl& s = *impl_;
  const QuorumOptions& o = s.options;
  if (s.opened) return Error(errc::internal, "QuorumNode::open called twice");
  std::set<std::string> ids;
  for (const QuorumMember& m : o.members) ids.insert(m.id);
  if (ids.size() != o.members.size()) {
    return Error(errc::invalid_argument, "quorum mode: member ids must be distinct");
  }
  if (!ids.contains(o.id)) {
    return Error(errc::invalid_argument, "quorum mode: this node (" + o.id + ") is not a member");
  }
  if (o.n < 1 || o.w < 1 || o.r < 1 || o.w > o.n || o.r > o.n) {
    return Error(errc::invalid_argument,
                 "quorum mode: need 1 <= W, R <= N (N=" + std::to_string(o.n) +
                     " W=" + std::to_string(o.w) + " R=" + std::to_string(o.r) + ")");
  }
  if (static_cast<size_t>(o.n) > o.members.size()) {
    return Error(errc::invalid_argument, "quorum mode: N=" + std::to_string(o.n) + " exceeds the " +
                                             std::to_string(o.members.size()) + " members");
  }
  if (o.timeout_ms <= 0) {
    return Error(errc::invalid_argument, "quorum mode: the timeout must be positive");
  }
  if (o.dir.empty()) {
    s.log = std::make_unique<MemoryLog>();
  } else {
    WalRecovery rec;
    auto wal = Wal::open(o.dir, o.fsync, rec);
    if (!wal) return wal.error();
    quorum::ReplicaStore& store = s.coord->store();
    if (rec.snapshot) {
      if (auto r = quorum::decode_entries(rec.snapshot->data, store); !r) {
        return Error(r.error().code,
                     "quorum snapshot in " + o.dir.string() + ": " + r.error().message);
      }
    }
    for (const WalRecord& r : rec.records) {
      if (auto d = quorum::decode_entries(r.data, store); !d) {
        return Error(d.error().code, "quorum log record " + std::to_string(r.index) + " in " +
                                         o.dir.string() + ": " + d.error().message);
      }
    }
    s.recovered_records = rec.records.size();
    s.since_snapshot = rec.records.size();
    if (rec.torn_bytes > 0) {
      fl::log::warn("quorum replica log: cut {} bytes of torn tail ({})", rec.torn_bytes,
                    rec.torn_reason);
    }
    s.log = std::make_unique<WalLog>(std::move(*wal));
  }
  // Versions this node writes from now on must exceed the ones it wrote before a restart, even
  // if the wall clock went back.
  s.coord->clock().observe(s.coord->store().max_version().ts, o.physical_us());
  s.opened = true;
  return {};
}

void QuorumNode::execute(std::span<const std::string_view> argv, nodes::Session& session,
                         Reply reply) {
  (void)session;
  Impl& s = *impl_;
  if (argv.empty()) return reply(resp_error("ERR empty command"));
  const std::string_view name = argv[0];
  const TimeMs now = s.clock.now_ms();
  auto arity_error = [&] {
    reply(resp_error("ERR wrong number of arguments for '" + lower(name) + "' command"));
  };

  if (iequals(name, "get")) {
    if (argv.size() != 2) return arity_error();
    return s.coord->read(std::string(argv[1]), now,
                         [&s, reply = std::move(reply)](const quorum::ReadResult& r) {
                           if (r.outcome != Outcome::ok) return reply(s.no_quorum(false));
                           std::string out;
                           resp::Writer w(out);
                           if (r.value) {
                             w.bulk(*r.value);
                           } else {
                             w.null();
                           }
                           reply(std::move(out));
                         });
  }
  if (iequals(name, "set")) {
    if (argv.size() < 3) return arity_error();
    if (argv.size() > 3) {
      return reply(resp_error("ERR SET options (" + std::string(argv[3]) +
                              ") are not supported in quorum mode"));
    }
    return s.coord->write(std::string(argv[1]), std::string(argv[2]), now,
                          [&s, reply = std::move(reply)](const quorum::WriteResult& r) {
                            if (r.outcome != Outcome::ok) return reply(s.no_quorum(true));
                            reply("+OK\r\n");
                          });
  }
  const bool is_del = iequals(name, "del");
  const bool is_exists = iequals(name, "exists");
  const bool is_mget = iequals(name, "mget");
  if (is_del || is_exists || is_mget) {
    if (argv.size() < 2) return arity_error();
    // One quorum operation per key; the reply waits for all of them.
    struct Multi {
      Reply reply;
      size_t remaining = 0;
      bool failed = false;
      bool failed_write = false;
      std::vector<std::optional<std::string>> values;
      int64_t count = 0;
    };
    auto m = std::make_shared<Multi>();
    m->reply = std::move(reply);
    m->remaining = argv.size() - 1;
    m->values.resize(argv.size() - 1);
    auto finish_one = [&s, m, is_mget] {
      if (--m->remaining > 0) return;
      if (m->failed) return m->reply(s.no_quorum(m->failed_write));
      std::string out;
      resp::Writer w(out);
      if (is_mget) {
        w.array_header(m->values.size());
        for (const auto& v : m->values) {
          if (v) {
            w.bulk(*v);
          } else {
            w.null();
          }
        }
      } else {
        w.integer(m->count);
      }
      m->reply(std::move(out));
    };
    for (size_t i = 1; i < argv.size(); ++i) {
      if (is_del) {
        s.coord->write(std::string(argv[i]), std::nullopt, now,
                       [m, finish_one](const quorum::WriteResult& r) {
                         if (r.outcome != Outcome::ok) {
                           m->failed = m->failed_write = true;
                         } else if (r.had_value) {
                           ++m->count;
                         }
                         finish_one();
                       });
      } else {
        s.coord->read(std::string(argv[i]), now, [m, finish_one, i](const quorum::ReadResult& r) {
          if (r.outcome != Outcome::ok) {
            m->failed = true;
          } else if (r.value) {
            ++m->count;
            m->values[i - 1] = r.value;
          }
          finish_one();
        });
      }
    }
    return;
  }
  reply(resp_error("ERR '" + lower(name) + "' is not supported in quorum mode"));
}

void QuorumNode::on_peer_message(std::span<const std::string_view> argv, TimeMs now) {
  auto m = quorum::decode(argv);
  if (!m) return;  // a malformed peer message is dropped; the requester times out
  impl_->coord->on_message(*m, now);
}

void QuorumNode::tick(TimeMs now) { impl_->coord->tick(now); }

bool QuorumNode::handles(std::string_view command) {
  static constexpr std::string_view kAdmin[] = {"ping",     "echo",   "info",    "role",
                                                "client",   "config", "command", "quit",
                                                "shutdown", "select", "hello",   "cluster"};
  for (std::string_view a : kAdmin) {
    if (iequals(command, a)) return false;
  }
  return !quorum::is_peer_command(command);
}

bool QuorumNode::is_peer_command(std::string_view command) {
  return quorum::is_peer_command(command);
}

const std::string& QuorumNode::id() const { return impl_->options.id; }

const std::vector<QuorumMember>& QuorumNode::members() const { return impl_->options.members; }

QuorumInfo QuorumNode::info() const {
  const Impl& s = *impl_;
  const auto& st = s.coord->stats();
  QuorumInfo i;
  i.n = s.options.n;
  i.w = s.options.w;
  i.r = s.options.r;
  i.keys = s.coord->store().size();
  i.tombstones = s.coord->store().tombstones();
  const quorum::Timestamp t = s.coord->clock().last();
  i.hlc_physical = t.physical;
  i.hlc_logical = t.logical;
  i.pending = s.coord->pending();
  i.writes_ok = st.writes_ok;
  i.writes_no_quorum = st.writes_no_quorum;
  i.reads_ok = st.reads_ok;
  i.reads_no_quorum = st.reads_no_quorum;
  i.read_repairs = st.repairs_sent;
  i.replica_puts = st.replica_puts;
  i.replica_gets = st.replica_gets;
  i.log_records = s.log_records;
  i.recovered_records = s.recovered_records;
  return i;
}

std::string QuorumNode::info_section() const {
  const QuorumInfo i = info();
  std::string out = "# Quorum\r\n";
  auto line = [&](std::string_view k, auto v) {
    out.append(k);
    out.push_back(':');
    out.append(std::to_string(v));
    out.append("\r\n");
  };
  line("quorum_n", i.n);
  line("quorum_w", i.w);
  line("quorum_r", i.r);
  line("quorum_keys", i.keys);
  line("quorum_tombstones", i.tombstones);
  line("quorum_hlc_physical_us", i.hlc_physical);
  line("quorum_hlc_logical", i.hlc_logical);
  line("quorum_pending", i.pending);
  line("quorum_writes_ok", i.writes_ok);
  line("quorum_writes_noquorum", i.writes_no_quorum);
  line("quorum_reads_ok", i.reads_ok);
  line("quorum_reads_noquorum", i.reads_no_quorum);
  line("quorum_read_repairs", i.read_repairs);
  line("quorum_replica_puts", i.replica_puts);
  line("quorum_replica_gets", i.replica_gets);
  line("quorum_log_records", i.log_records);
  line("quorum_recovered_records", i.recovered_records);
  return out;
}

}  // namespace fl::db
