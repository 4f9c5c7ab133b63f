#include "nodes/db/quorum.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

#include "common/little_endian.h"
#include "nodes/common/command_table.h"

namespace fl::db::quorum {

// ---- HybridClock ----

Timestamp HybridClock::tick(int64_t physical_now) {
  if (physical_now > last_.physical) {
    last_ = {physical_now, 0};
  } else {
    ++last_.logical;
  }
  return last_;
}

Timestamp HybridClock::observe(Timestamp remote, int64_t physical_now) {
  const int64_t p = std::max({last_.physical, remote.physical, physical_now});
  uint32_t l = 0;
  if (p == last_.physical && p == remote.physical) {
    l = std::max(last_.logical, remote.logical) + 1;
  } else if (p == last_.physical) {
    l = last_.logical + 1;
  } else if (p == remote.physical) {
    l = remote.logical + 1;
  }
  last_ = {p, l};
  return last_;
}

// ---- ReplicaStore ----

const Record* ReplicaStore::find(std::string_view key) const {
  auto it = records_.find(key);
  return it == records_.end() ? nullptr : &it->second;
}

bool ReplicaStore::apply(std::string_view key, const Record& r) {
  auto it = records_.find(key);
  if (it == records_.end()) {
    it = records_.emplace(std::string(key), r).first;
  } else {
    if (!(it->second.version < r.version)) return false;
    if (!it->second.value) --tombstones_;
    it->second = r;
  }
  if (!r.value) ++tombstones_;
  if (max_version_ < r.version) max_version_ = r.version;
  return true;
}

// ---- byte encoding for the log ----

namespace {

using common::put_u32;
using common::put_u64;

void put_bytes(std::string& out, std::string_view s) {
  put_u32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

struct Reader {
  std::string_view in;
  bool ok = true;

  uint64_t take(int bytes) {
    if (in.size() < static_cast<size_t>(bytes)) {
      ok = false;
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
    in.remove_prefix(bytes);
    return v;
  }
  std::string_view bytes() {
    const uint64_t n = take(4);
    if (!ok || in.size() < n) {
      ok = false;
      return {};
    }
    std::string_view s = in.substr(0, n);
    in.remove_prefix(n);
    return s;
  }
};

}  // namespace

std::string encode_entry(std::string_view key, const Record& r) {
  std::string out;
  out.reserve(key.size() + r.version.writer.size() + (r.value ? r.value->size() : 0) + 32);
  put_bytes(out, key);
  put_u64(out, static_cast<uint64_t>(r.version.ts.physical));
  put_u32(out, r.version.ts.logical);
  put_bytes(out, r.version.writer);
  out.push_back(r.value ? '\1' : '\0');
  put_bytes(out, r.value ? std::string_view(*r.value) : std::string_view());
  return out;
}

result<void> decode_entries(std::string_view bytes, ReplicaStore& store) {
  Reader rd{bytes};
  while (!rd.in.empty()) {
    const std::string_view key = rd.bytes();
    Record r;
    r.version.ts.physical = static_cast<int64_t>(rd.take(8));
    r.version.ts.logical = static_cast<uint32_t>(rd.take(4));
    r.version.writer = std::string(rd.bytes());
    const uint64_t flag = rd.take(1);
    const std::string_view value = rd.bytes();
    if (!rd.ok || flag > 1)
      return Error(errc::parse_error, "quorum log entry is truncated or malformed");
    if (flag == 1) r.value = std::string(value);
    store.apply(key, r);
  }
  return {};
}

std::string encode_store(const ReplicaStore& store) {
  std::string out;
  store.for_each([&](const std::string& k, const Record& r) { out += encode_entry(k, r); });
  return out;
}

// ---- peer message codec ----

namespace {

constexpr std::string_view kPut = "Q.PUT";
constexpr std::string_view kPutAck = "Q.PUTACK";
constexpr std::string_view kGet = "Q.GET";
constexpr std::string_view kGot = "Q.GOT";

std::string hlc_text(Timestamp t) {
  return std::to_string(t.physical) + "." + std::to_string(t.logical);
}
std::string version_text(const Version& v) { return hlc_text(v.ts) + "." + v.writer; }

template <class T>
bool parse_num(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_hlc(std::string_view s, Timestamp& t) {
  const size_t dot = s.find('.');
  return dot != std::string_view::npos && parse_num(s.substr(0, dot), t.physical) &&
         parse_num(s.substr(dot + 1), t.logical);
}

bool parse_version(std::string_view s, Version& v) {
  const size_t d1 = s.find('.');
  if (d1 == std::string_view::npos) return false;
  const size_t d2 = s.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return false;
  if (!parse_hlc(s.substr(0, d2), v.ts)) return false;
  v.writer = std::string(s.substr(d2 + 1));
  return !v.writer.empty();
}

void push_record(std::vector<std::string>& out, const Record& r) {
  out.push_back(version_text(r.version));
  out.push_back(r.value ? "1" : "0");
  out.push_back(r.value ? *r.value : std::string());
}

bool parse_record(std::string_view version, std::string_view flag, std::string_view value,
                  Record& r) {
  if (!parse_version(version, r.version)) return false;
  if (flag == "1") {
    r.value = std::string(value);
  } else if (flag != "0") {
    return false;
  }
  return true;
}

}  // namespace

bool is_peer_command(std::string_view name) {
  using nodes::iequals;
  return iequals(name, kPut) || iequals(name, kPutAck) || iequals(name, kGet) ||
         iequals(name, kGot);
}

std::vector<std::string> encode(const PeerMessage& m) {
  std::vector<std::string> out;
  out.reserve(10);
  auto head = [&](std::string_view name, uint64_t req) {
    out.emplace_back(name);
    out.push_back(m.from);
    out.push_back(hlc_text(m.hlc));
    out.push_back(std::to_string(req));
  };
  if (const auto* p = std::get_if<PutMsg>(&m.body)) {
    head(kPut, p->req);
    out.push_back(p->key);
    push_record(out, p->record);
  } else if (const auto* a = std::get_if<PutAckMsg>(&m.body)) {
    head(kPutAck, a->req);
    out.push_back(a->had_value ? "1" : "0");
  } else if (const auto* g = std::get_if<GetMsg>(&m.body)) {
    head(kGet, g->req);
    out.push_back(g->key);
  } else if (const auto* r = std::get_if<GotMsg>(&m.body)) {
    head(kGot, r->req);
    out.push_back(r->record ? "1" : "0");
    if (r->record) {
      push_record(out, *r->record);
    } else {
      out.insert(out.end(), {"0.0.-", "0", ""});
    }
  }
  return out;
}

result<PeerMessage> decode(std::span<const std::string_view> argv) {
  using nodes::iequals;
  auto bad = [&](std::string_view why) {
    return Error(errc::protocol_error,
                 "malformed " + std::string(argv.empty() ? "" : argv[0]) + ": " + std::string(why));
  };
  if (argv.size() < 4) return bad("too few arguments");
  const std::string_view name = argv[0];
  PeerMessage m;
  m.from = std::string(argv[1]);
  uint64_t req = 0;
  if (m.from.empty()) return bad("empty sender");
  if (!parse_hlc(argv[2], m.hlc)) return bad("bad hlc");
  if (!parse_num(argv[3], req)) return bad("bad request id");
  if (iequals(name, kPut)) {
    if (argv.size() != 8) return bad("wrong number of arguments");
    PutMsg p{req, std::string(argv[4]), {}};
    if (!parse_record(argv[5], argv[6], argv[7], p.record)) return bad("bad record");
    m.body = std::move(p);
  } else if (iequals(name, kPutAck)) {
    if (argv.size() != 5 || (argv[4] != "0" && argv[4] != "1")) return bad("bad arguments");
    m.body = PutAckMsg{req, argv[4] == "1"};
  } else if (iequals(name, kGet)) {
    if (argv.size() != 5) return bad("wrong number of arguments");
    m.body = GetMsg{req, std::string(argv[4])};
  } else if (iequals(name, kGot)) {
    if (argv.size() != 8 || (argv[4] != "0" && argv[4] != "1")) return bad("bad arguments");
    GotMsg g{req, std::nullopt};
    if (argv[4] == "1") {
      Record r;
      if (!parse_record(argv[5], argv[6], argv[7], r)) return bad("bad record");
      g.record = std::move(r);
    }
    m.body = std::move(g);
  } else {
    return bad("unknown quorum message");
  }
  return m;
}

// ---- Coordinator ----

Coordinator::Coordinator(CoordinatorOptions options, PhysicalClock physical, Send send,
                         OnApply on_apply, uint64_t first_request_id)
    : options_(std::move(options)),
      ring_(options_.members),
      physical_(std::move(physical)),
      send_(std::move(send)),
      on_apply_(std::move(on_apply)),
      next_req_(first_request_id) {}

std::vector<std::string> Coordinator::preference_list(std::string_view key) const {
  std::vector<std::string> out;
  for (size_t i : ring_.preference_list(key, static_cast<size_t>(std::max(options_.n, 0)))) {
    out.push_back(ring_.members()[i]);
  }
  return out;
}

Timestamp Coordinator::stamp() { return hlc_.tick(physical_()); }

void Coordinator::send(const std::string& to, decltype(PeerMessage::body) body) {
  send_(to, PeerMessage{options_.self, stamp(), std::move(body)});
}

bool Coordinator::replica_put(std::string_view key, const Record& r, bool& had) {
  ++stats_.replica_puts;
  const Record* before = store_.find(key);
  had = before && before->value;
  if (store_.apply(key, r) && on_apply_ && !on_apply_(key, r)) {
    ++stats_.persist_failures;
    return false;
  }
  return true;
}

void Coordinator::write(std::string key, std::optional<std::string> value, int64_t now_ms,
                        WriteDone done) {
  const uint64_t req = next_req_++;
  Op& op = ops_[req];
  op.key = std::move(key);
  op.replicas = preference_list(op.key);
  op.deadline_ms = now_ms + options_.timeout_ms;
  op.write_done = std::move(done);
  const Record rec{Version{stamp(), options_.self}, std::move(value)};
  op.newest.version = rec.version;
  bool local = false;
  for (const std::string& rep : op.replicas) {
    if (rep == options_.self) {
      local = true;
    } else {
      send(rep, PutMsg{req, op.key, rec});
    }
  }
  if (local) {
    // The sends above may not have reentered (peers answer asynchronously), so `op` is valid.
    bool had = false;
    if (replica_put(op.key, rec, had)) on_put_ack(options_.self, PutAckMsg{req, had});
  }
}

void Coordinator::read(std::string key, int64_t now_ms, ReadDone done) {
  const uint64_t req = next_req_++;
  Op& op = ops_[req];
  op.is_read = true;
  op.key = std::move(key);
  op.replicas = preference_list(op.key);
  op.deadline_ms = now_ms + options_.timeout_ms;
  op.read_done = std::move(done);
  bool local = false;
  for (const std::string& rep : op.replicas) {
    if (rep == options_.self) {
      local = true;
    } else {
      send(rep, GetMsg{req, op.key});
    }
  }
  if (local) {
    ++stats_.replica_gets;
    const Record* r = store_.find(op.key);
    read_answer(req, options_.self, r ? std::optional<Record>(*r) : std::nullopt);
  }
}

void Coordinator::on_message(const PeerMessage& m, int64_t now_ms) {
  (void)now_ms;
  hlc_.observe(m.hlc, physical_());
  if (const auto* p = std::get_if<PutMsg>(&m.body)) {
    bool had = false;
    if (replica_put(p->key, p->record, had)) send(m.from, PutAckMsg{p->req, had});
  } else if (const auto* a = std::get_if<PutAckMsg>(&m.body)) {
    on_put_ack(m.from, *a);
  } else if (const auto* g = std::get_if<GetMsg>(&m.body)) {
    ++stats_.replica_gets;
    const Record* r = store_.find(g->key);
    send(m.from, GotMsg{g->req, r ? std::optional<Record>(*r) : std::nullopt});
  } else if (const auto* r = std::get_if<GotMsg>(&m.body)) {
    on_got(m.from, *r);
  }
}

void Coordinator::on_put_ack(const std::string& from, const PutAckMsg& m) {
  auto it = ops_.find(m.req);
  if (it == ops_.end()) return;  // late ack of a finished request
  Op& op = it->second;
  if (std::find(op.replicas.begin(), op.replicas.end(), from) == op.replicas.end()) {
    ++stats_.bad_messages;
    return;
  }
  if (!op.is_read) {
    op.acked.insert(from);
    op.had_value = op.had_value || m.had_value;
    if (op.acked.size() >= static_cast<size_t>(options_.w)) finish_write(it, Outcome::ok);
    return;
  }
  // Only read repair sends Q.PUT under a read's request id.
  if (!op.repairing) return;
  op.repair_waiting.erase(from);
  op.holding.insert(from);
  maybe_finish_read(m.req);
}

void Coordinator::on_got(const std::string& from, GotMsg m) {
  if (auto late = late_.find(m.req); late != late_.end()) {
    Late& l = late->second;
    auto pos = std::find(l.unanswered.begin(), l.unanswered.end(), from);
    if (pos == l.unanswered.end()) return;
    l.unanswered.erase(pos);
    if (!m.record || m.record->version < l.newest.version) {
      ++stats_.repairs_sent;
      ++stats_.late_repairs;
      send(from, PutMsg{m.req, l.key, l.newest});
    }
    if (l.unanswered.empty()) late_.erase(late);
    return;
  }
  auto it = ops_.find(m.req);
  if (it == ops_.end() || !it->second.is_read) return;
  const Op& op = it->second;
  if (std::find(op.replicas.begin(), op.replicas.end(), from) == op.replicas.end()) {
    ++stats_.bad_messages;
    return;
  }
  read_answer(m.req, from, std::move(m.record));
}

void Coordinator::read_answer(uint64_t req, const std::string& from, std::optional<Record> rec) {
  auto it = ops_.find(req);
  if (it == ops_.end()) return;
  Op& op = it->second;
  if (op.answers.contains(from)) return;
  if (op.repairing) {
    // A late answer while repairing: count it if it holds the chosen version, repair it if older.
    op.answers.emplace(from, rec);
    if (rec && op.newest.version <= rec->version) {
      op.holding.insert(from);
    } else if (!op.repair_waiting.contains(from)) {
      repair(req, op, from);
    }
    maybe_finish_read(req);
    return;
  }
  op.answers.emplace(from, std::move(rec));
  const size_t want = options_.bug_read_one ? 1 : static_cast<size_t>(options_.r);
  if (op.answers.size() < want) return;
  if (options_.bug_read_one) {
    const auto& first = op.answers.begin()->second;
    ReadResult res;
    if (first) {
      res.value = first->value;
      res.version = first->version;
    }
    ReadDone done = std::move(op.read_done);
    ++stats_.reads_ok;
    ops_.erase(it);
    done(res);
    return;
  }
  start_repair(req, op);
}

void Coordinator::start_repair(uint64_t req, Op& op) {
  op.repairing = true;
  const std::optional<Record>* newest = nullptr;
  for (const auto& [node, rec] : op.answers) {
    if (rec && (!newest || !*newest || (*newest)->version < rec->version)) newest = &rec;
  }
  if (!newest || !*newest) {
    // No answering replica ever saw the key: nothing to repair, the key is absent.
    auto it = ops_.find(req);
    ++stats_.reads_ok;
    ReadDone done = std::move(op.read_done);
    ops_.erase(it);
    done(ReadResult{});
    return;
  }
  op.newest = **newest;
  // The newest version must be on max(R, W) replicas before it is returned: then every later
  // read quorum (R) meets one of them, because W + R > N (when it is; with W + R <= N no such
  // promise is made, and none is kept).
  op.needed = std::min(static_cast<size_t>(std::max(options_.r, options_.w)), op.replicas.size());
  std::vector<std::string> stale;
  for (const auto& [node, rec] : op.answers) {
    if (rec && op.newest.version <= rec->version) {
      op.holding.insert(node);
    } else {
      stale.push_back(node);
    }
  }
  for (const std::string& node : stale) repair(req, op, node);
  if (ops_.find(req) == ops_.end()) return;
  // Not enough replicas answered to reach `needed` even after repair: push the version to the
  // replicas that have not answered yet as well.
  if (op.holding.size() + op.repair_waiting.size() < op.needed) {
    for (const std::string& rep : op.replicas) {
      if (op.answers.contains(rep) || op.repair_waiting.contains(rep)) continue;
      repair(req, op, rep);
      if (ops_.find(req) == ops_.end()) return;
    }
  }
  maybe_finish_read(req);
}

void Coordinator::repair(uint64_t req, Op& op, const std::string& replica) {
  ++stats_.repairs_sent;
  op.repair_waiting.insert(replica);
  if (replica == options_.self) {
    bool had = false;
    if (replica_put(op.key, op.newest, had)) {
      op.repair_waiting.erase(replica);
      op.holding.insert(replica);
    }
  } else {
    send(replica, PutMsg{req, op.key, op.newest});
  }
}

void Coordinator::maybe_finish_read(uint64_t req) {
  auto it = ops_.find(req);
  if (it == ops_.end() || !it->second.repairing) return;
  const Op& op = it->second;
  // Every contacted stale replica must have acknowledged its repair (blocking read repair),
  // and enough replicas must hold the version.
  if (!op.repair_waiting.empty() || op.holding.size() < op.needed) return;
  finish_read(it, Outcome::ok);
}

void Coordinator::finish_write(std::map<uint64_t, Op>::iterator it, Outcome o) {
  WriteResult res{o, it->second.had_value, it->second.newest.version};
  WriteDone done = std::move(it->second.write_done);
  ++(o == Outcome::ok ? stats_.writes_ok : stats_.writes_no_quorum);
  ops_.erase(it);
  done(res);
}

void Coordinator::finish_read(std::map<uint64_t, Op>::iterator it, Outcome o) {
  ReadResult res;
  res.outcome = o;
  if (o == Outcome::ok) {
    res.value = it->second.newest.value;
    res.version = it->second.newest.version;
  }
  ReadDone done = std::move(it->second.read_done);
  ++(o == Outcome::ok ? stats_.reads_ok : stats_.reads_no_quorum);
  if (o == Outcome::ok) {
    Late late{it->second.key, it->second.newest, {}, it->second.deadline_ms};
    for (const std::string& rep : it->second.replicas) {
      if (!it->second.answers.contains(rep)) late.unanswered.push_back(rep);
    }
    if (!late.unanswered.empty()) late_.emplace(it->first, std::move(late));
  }
  ops_.erase(it);
  done(res);
}

void Coordinator::tick(int64_t now_ms) {
  std::erase_if(late_, [&](const auto& kv) { return kv.second.deadline_ms <= now_ms; });
  std::vector<uint64_t> expired;
  for (const auto& [req, op] : ops_) {
    if (op.deadline_ms <= now_ms) expired.push_back(req);
  }
  for (uint64_t req : expired) {
    auto it = ops_.find(req);
    if (it == ops_.end()) continue;
    if (it->second.is_read) {
      finish_read(it, Outcome::no_quorum);
    } else {
      finish_write(it, Outcome::no_quorum);
    }
  }
}

}  // namespace fl::db::quorum
