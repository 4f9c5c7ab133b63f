#include "nodes/broker/broker.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "common/hash_ring.h"
#include "common/log.h"

namespace fl::broker {
namespace {

namespace fs = std::filesystem;

// A group log is rewritten once it holds this many records beyond the live state.
constexpr uint64_t kGroupLogSlack = 10000;

bool plain(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

fs::path partition_dir(const fs::path& topic_dir, uint32_t p) {
  return topic_dir / ("p" + std::to_string(p));
}

}  // namespace

std::string format_id(StreamId id) {
  char buf[48];
  auto* end = std::to_chars(buf, buf + 20, id.partition).ptr;
  *end++ = '-';
  end = std::to_chars(end, buf + sizeof buf, id.offset).ptr;
  return std::string(buf, end);
}

std::optional<StreamId> parse_id(std::string_view s, uint64_t missing_offset) {
  StreamId id;
  const size_t dash = s.find('-');
  std::string_view ps = s.substr(0, dash);
  if (ps.empty()) return std::nullopt;
  auto [p1, e1] = std::from_chars(ps.data(), ps.data() + ps.size(), id.partition);
  if (e1 != std::errc() || p1 != ps.data() + ps.size()) return std::nullopt;
  if (dash == std::string_view::npos) {
    id.offset = missing_offset;
    return id;
  }
  std::string_view os = s.substr(dash + 1);
  if (os.empty()) return std::nullopt;
  auto [p2, e2] = std::from_chars(os.data(), os.data() + os.size(), id.offset);
  if (e2 != std::errc() || p2 != os.data() + os.size()) return std::nullopt;
  return id;
}

std::string escape_topic(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (plain(c)) {
      out += c;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return out;
}

std::optional<std::string> unescape_topic(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      if (!plain(s[i])) return std::nullopt;
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    unsigned v = 0;
    auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
    if (ec != std::errc() || p != s.data() + i + 3) return std::nullopt;
    out += static_cast<char>(v);
    i += 2;
  }
  return out;
}

result<std::unique_ptr<Broker>> Broker::open(BrokerOptions options) {
  std::unique_ptr<Broker> b(new Broker(std::move(options)));
  if (auto r = b->recover(); !r) return r.error();
  return b;
}

Broker::~Broker() {
  if (options_.fsync == FsyncPolicy::never) {
    (void)write_buffered();
  } else {
    (void)sync();
  }
}

result<void> Broker::recover() {
  std::error_code ec;
  const fs::path topics = options_.dir / "topics";
  fs::create_directories(topics, ec);
  if (ec) return Error(errc::io_error, "cannot create " + topics.string() + ": " + ec.message());
  fs::remove_all(options_.dir / "deleted", ec);
  std::vector<fs::path> dirs;
  for (const auto& de : fs::directory_iterator(topics, ec)) {
    if (de.is_directory()) dirs.push_back(de.path());
  }
  if (ec) return Error(errc::io_error, "cannot list " + topics.string() + ": " + ec.message());
  for (const fs::path& d : dirs) {
    auto name = unescape_topic(d.filename().string());
    if (!name) {
      log::warn("ignoring {}: not a topic directory", d.string());
      continue;
    }
    if (auto t = load_topic(d, *name); !t) return t.error();
  }
  return {};
}

result<Topic*> Broker::load_topic(const fs::path& dir, std::string name) {
  auto t = std::make_unique<Topic>();
  t->name = std::move(name);
  t->dir = dir;
  uint32_t partitions = options_.partitions;
  std::error_code ec;
  if (fs::exists(dir / "meta", ec)) {
    auto meta = read_whole_file(dir / "meta");
    if (!meta) return meta.error();
    uint32_t n = 0;
    auto [p, perr] = std::from_chars(meta->data(), meta->data() + meta->size(), n);
    if (perr != std::errc() || n == 0) {
      return Error(errc::parse_error, "topic meta " + (dir / "meta").string() + " is unreadable");
    }
    partitions = n;
  } else {
    if (auto r = replace_file(dir / "meta", std::to_string(partitions) + "\n"); !r) {
      return r.error();
    }
  }
  LogOptions lo;
  lo.segment_bytes = options_.segment_bytes;
  for (uint32_t p = 0; p < partitions; ++p) {
    LogRecovery rec;
    auto log = PartitionLog::open(partition_dir(dir, p), lo, &rec);
    if (!log) return log.error();
    if (rec.torn_bytes > 0) {
      log::warn("topic {} partition {}: cut {} torn bytes ({})", t->name, p, rec.torn_bytes,
                rec.torn_reason);
    }
    stats_.torn_bytes += rec.torn_bytes;
    stats_.recovered_entries += rec.entries;
    t->logs.push_back(log->get());
    t->parts.push_back(std::move(*log));
  }
  std::map<std::string, GroupState> groups;
  uint64_t torn = 0;
  auto gl = GroupLog::open(dir / "groups.log", groups, &torn);
  if (!gl) return gl.error();
  stats_.torn_bytes += torn;
  t->group_log = std::move(*gl);
  for (auto& [gname, gs] : groups) {
    gs.committed.resize(partitions, 0);
    gs.acked.resize(partitions);
    for (uint32_t p = 0; p < partitions; ++p) {
      uint64_t seen = gs.committed[p];
      for (uint64_t off : gs.acked[p]) seen = std::max(seen, off + 1);
      if (seen > t->parts[p]->next_offset()) {
        log::warn(
            "topic {} partition {}: group {} has seen offsets up to {} but the log ends at "
            "{}: records were lost; new entries start after them",
            t->name, p, gname, seen, t->parts[p]->next_offset());
        t->parts[p]->reserve_offsets(seen);
        ++stats_.offset_gaps;
      }
    }
    ConsumerGroup g(gname, gs.committed);
    for (uint32_t p = 0; p < gs.acked.size(); ++p) {
      for (uint64_t off : gs.acked[p]) g.restore_ack(p, off);
    }
    g.settle(t->logs);
    t->groups.emplace(gname, std::move(g));
  }
  Topic* raw = t.get();
  topics_[raw->name] = std::move(t);
  return raw;
}

result<Topic*> Broker::create_topic(std::string_view name) {
  const fs::path dir = options_.dir / "topics" / escape_topic(name);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(errc::io_error, "cannot create " + dir.string() + ": " + ec.message());
  auto t = load_topic(dir, std::string(name));
  if (!t) return t.error();
  if (auto d = fsync_dir(options_.dir / "topics"); !d) return d.error();
  return t;
}

Topic* Broker::find(std::string_view topic) {
  auto it = topics_.find(topic);
  return it == topics_.end() ? nullptr : it->second.get();
}

result<StreamId> Broker::add(std::string_view topic, std::span<const std::string_view> fields) {
  Topic* t = find(topic);
  if (!t) {
    auto created = create_topic(topic);
    if (!created) return created.error();
    t = *created;
  }
  const uint32_t n = static_cast<uint32_t>(t->parts.size());
  uint32_t p = 0;
  bool keyed = false;
  for (size_t i = 0; i + 1 < fields.size(); i += 2) {
    if (fields[i] == "key") {
      p = static_cast<uint32_t>(ring_hash(fields[i + 1]) % n);
      keyed = true;
      break;
    }
  }
  if (!keyed) p = static_cast<uint32_t>(t->round_robin++ % n);
  // Under `always` the reply waits for the next commit anyway: the record is buffered and the
  // commit writes every buffered record of a partition with one write(2) before its fsync.
  const bool write_now = !options_.ack_before_write && options_.fsync != FsyncPolicy::always;
  auto off = t->parts[p]->append(fields, write_now);
  if (!off) return off.error();
  if (options_.ack_before_write) {
    bug_buffered_ = true;
  } else if (!write_now) {
    unwritten_ = true;
  }
  ++stats_.adds;
  return StreamId{p, *off};
}

std::vector<Delivery> Broker::range(const Topic& t, StreamId from, StreamId to,
                                    size_t count) const {
  std::vector<Delivery> out;
  if (to < from) return out;
  const uint32_t n = static_cast<uint32_t>(t.parts.size());
  for (uint32_t p = from.partition; p < n && p <= to.partition && out.size() < count; ++p) {
    const PartitionLog& log = *t.parts[p];
    const uint64_t lo = p == from.partition ? from.offset : 0;
    const uint64_t hi = p == to.partition ? to.offset : UINT64_MAX;
    const auto& entries = log.entries();
    for (size_t k = log.lower_bound(lo); k < entries.size() && out.size() < count; ++k) {
      if (entries[k].offset > hi) break;
      out.push_back({p, &entries[k]});
    }
  }
  return out;
}

result<Broker::GroupCreate> Broker::create_group(std::string_view topic, std::string_view group,
                                                 bool from_end, bool mkstream) {
  Topic* t = find(topic);
  if (!t) {
    if (!mkstream) return GroupCreate::no_topic;
    auto created = create_topic(topic);
    if (!created) return created.error();
    t = *created;
  }
  if (t->groups.contains(group)) return GroupCreate::exists;
  std::vector<uint64_t> start;
  for (const auto& log : t->parts) start.push_back(from_end ? log->next_offset() : 0);
  t->group_log->create(group, start);
  if (auto w = t->group_log->write(); !w) return w.error();
  t->groups.emplace(std::string(group), ConsumerGroup(std::string(group), start));
  return GroupCreate::created;
}

result<bool> Broker::destroy_group(std::string_view topic, std::string_view group) {
  Topic* t = find(topic);
  if (!t) return false;
  auto it = t->groups.find(group);
  if (it == t->groups.end()) return false;
  t->group_log->destroy(group);
  if (auto w = t->group_log->write(); !w) return w.error();
  t->groups.erase(it);
  return true;
}

result<int64_t> Broker::ack(Topic& t, ConsumerGroup& g, std::span<const StreamId> ids) {
  int64_t n = 0;
  for (const StreamId& id : ids) {
    if (g.ack(id.partition, id.offset)) {
      t.group_log->ack(g.name(), id.partition, id.offset);
      ++n;
    }
  }
  if (n > 0) {
    if (auto w = t.group_log->write(); !w) return w.error();
    stats_.acks += static_cast<uint64_t>(n);
  }
  return n;
}

result<bool> Broker::remove_topic(std::string_view topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return false;
  Topic& t = *it->second;
  for (const auto& log : t.parts) retired_fsyncs_ += log->fsyncs();
  retired_fsyncs_ += t.group_log->fsyncs();
  const fs::path dir = t.dir;
  topics_.erase(it);  // closes the files
  const fs::path deleted = options_.dir / "deleted";
  std::error_code ec;
  fs::create_directories(deleted, ec);
  const fs::path target =
      deleted / (std::to_string(++deleted_seq_) + "-" + dir.filename().string());
  fs::rename(dir, target, ec);
  if (ec) return Error(errc::io_error, "cannot remove " + dir.string() + ": " + ec.message());
  if (auto d = fsync_dir(options_.dir / "topics"); !d) return d.error();
  fs::remove_all(target, ec);
  return true;
}

result<CompactResult> Broker::compact(Topic& t) {
  CompactResult total;
  for (const auto& log : t.parts) {
    auto r = log->compact();
    if (!r) return r.error();
    total.before += r->before;
    total.after += r->after;
    total.bytes_before += r->bytes_before;
    total.bytes_after += r->bytes_after;
  }
  ++stats_.compactions;
  stats_.compacted_entries += total.before - total.after;
  return total;
}

bool Broker::needs_sync() const {
  if (unwritten_) return true;
  for (const auto& [name, t] : topics_) {
    for (const auto& log : t->parts) {
      if (log->dirty()) return true;
    }
    if (t->group_log->dirty()) return true;
  }
  return false;
}

result<void> Broker::write_buffered() {
  if (!unwritten_) return {};
  unwritten_ = false;
  for (const auto& [name, t] : topics_) {
    for (const auto& log : t->parts) {
      if (auto r = log->write_buffered(); !r) return r.error();
    }
  }
  return {};
}

result<void> Broker::sync() {
  if (auto w = write_buffered(); !w) return w.error();
  for (const auto& [name, t] : topics_) {
    for (const auto& log : t->parts) {
      if (auto r = log->sync(); !r) return r.error();
    }
    if (auto r = t->group_log->sync(); !r) return r.error();
  }
  return {};
}

result<std::vector<int>> Broker::take_sync_fds() {
  if (auto w = write_buffered(); !w) return w.error();
  std::vector<int> fds;
  for (const auto& [name, t] : topics_) {
    for (const auto& log : t->parts) {
      if (int fd = log->take_sync_fd(); fd >= 0) fds.push_back(fd);
    }
    if (int fd = t->group_log->take_sync_fd(); fd >= 0) fds.push_back(fd);
  }
  return fds;
}

result<void> Broker::maybe_rewrite_groups(Topic& t) {
  uint64_t live = 0;
  for (const auto& [name, g] : t.groups) {
    live += 1;
    for (const auto& gp : g.partitions()) live += gp.acked.size();
  }
  if (t.group_log->records_since_rewrite() < kGroupLogSlack + 4 * live) return {};
  std::map<std::string, GroupState> state;
  for (const auto& [name, g] : t.groups) {
    GroupState& s = state[name];
    for (const auto& gp : g.partitions()) {
      s.committed.push_back(gp.committed());
      s.acked.emplace_back(gp.acked.begin(), gp.acked.end());
    }
  }
  return t.group_log->rewrite(state);
}

result<void> Broker::tick(int64_t now_ms) {
  // The seeded bug writes what XADD already answered only after a delay, counted from the first
  // tick that saw it buffered.
  if (bug_buffered_ && bug_since_ms_ < 0) bug_since_ms_ = now_ms;
  if (bug_buffered_ && now_ms - bug_since_ms_ >= options_.bug_write_delay_ms) {
    bug_since_ms_ = -1;
    bug_buffered_ = false;
    for (const auto& [name, t] : topics_) {
      for (const auto& log : t->parts) {
        if (auto r = log->write_buffered(); !r) return r.error();
      }
    }
    if (auto r = sync(); !r) return r.error();
  }
  if (!options_.compact_topics.empty() && now_ms - last_compact_ms_ >= options_.compact_every_ms) {
    last_compact_ms_ = now_ms;
    for (const std::string& name : options_.compact_topics) {
      if (Topic* t = find(name)) {
        if (auto r = compact(*t); !r) return r.error();
      }
    }
  }
  if (now_ms - last_rewrite_check_ms_ >= 1000) {
    last_rewrite_check_ms_ = now_ms;
    for (const auto& [name, t] : topics_) {
      if (auto r = maybe_rewrite_groups(*t); !r) return r.error();
    }
  }
  return {};
}

uint64_t Broker::fsyncs() const {
  uint64_t n = retired_fsyncs_;
  for (const auto& [name, t] : topics_) {
    for (const auto& log : t->parts) n += log->fsyncs();
    n += t->group_log->fsyncs();
  }
  return n;
}

uint64_t Broker::lag() const {
  uint64_t n = 0;
  for (const auto& [name, t] : topics_) {
    for (const auto& [gname, g] : t->groups) n += g.lag(t->logs);
  }
  return n;
}

uint64_t Broker::group_count() const {
  uint64_t n = 0;
  for (const auto& [name, t] : topics_) n += t->groups.size();
  return n;
}

}  // namespace fl::broker
