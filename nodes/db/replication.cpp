#include "nodes/db/replication.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "nodes/common/command_table.h"

namespace fl::db {

std::string_view to_string(ReplicationMode m) {
  return m == ReplicationMode::sync ? "sync" : "async";
}

std::string_view to_string(Role r) {
  switch (r) {
    case Role::slave:
      return "slave";
    case Role::candidate:
      return "candidate";
    case Role::master:
      return "master";
  }
  return "?";
}

// ---------------------------------------------------------------- codec

namespace {

constexpr TimePoint kForever = std::numeric_limits<TimePoint>::max();

std::string num(uint64_t v) { return std::to_string(v); }
std::string snum(int64_t v) { return std::to_string(v); }

template <class T>
bool parse_number(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Reads fields of argv in order; any failure sticks.
class Fields {
 public:
  explicit Fields(std::span<const std::string_view> argv) : argv_(argv) {}
  bool u64(uint64_t& v) {
    return ok_ = ok_ && pos_ < argv_.size() && parse_number(argv_[pos_++], v);
  }
  bool i64(int64_t& v) {
    return ok_ = ok_ && pos_ < argv_.size() && parse_number(argv_[pos_++], v);
  }
  bool flag(bool& v) {
    uint64_t x = 0;
    if (!u64(x) || x > 1) return ok_ = false;
    v = x == 1;
    return true;
  }
  bool str(std::string& v) {
    ok_ = ok_ && pos_ < argv_.size();
    if (ok_) v = std::string(argv_[pos_++]);
    return ok_;
  }
  bool done() const { return ok_ && pos_ == argv_.size(); }
  size_t left() const { return argv_.size() - pos_; }

 private:
  std::span<const std::string_view> argv_;
  size_t pos_ = 1;
  bool ok_ = true;
};

}  // namespace

bool is_replication_message(std::string_view command) {
  return command.size() > 5 && nodes::iequals(command.substr(0, 5), "repl.");
}

std::vector<std::string> encode_message(const Message& m) {
  struct Encoder {
    std::vector<std::string> operator()(const VoteRequest& v) const {
      return {"REPL.VOTE",       num(v.term),      v.candidate,
              num(v.last_index), num(v.last_term), num(v.prevote ? 1 : 0)};
    }
    std::vector<std::string> operator()(const VoteReply& v) const {
      return {"REPL.VOTED", num(v.term), v.from, num(v.granted ? 1 : 0), num(v.prevote ? 1 : 0)};
    }
    std::vector<std::string> operator()(const AppendRequest& a) const {
      std::vector<std::string> out = {"REPL.APPEND",     num(a.term),          a.master,
                                      num(a.prev_index), num(a.prev_term),     num(a.commit),
                                      snum(a.stamp),     num(a.entries.size())};
      out.reserve(out.size() + 2 * a.entries.size());
      for (const LogEntry& e : a.entries) {
        out.push_back(num(e.term));
        out.push_back(e.data);
      }
      return out;
    }
    std::vector<std::string> operator()(const AppendReply& r) const {
      return {"REPL.APPENDED",
              num(r.term),
              r.from,
              num(r.success ? 1 : 0),
              num(r.index),
              num(r.hint),
              num(r.need_snapshot ? 1 : 0),
              snum(r.stamp)};
    }
    std::vector<std::string> operator()(const SnapshotRequest& s) const {
      return {"REPL.SNAPSHOT",  num(s.term),   s.master, num(s.index),
              num(s.last_term), snum(s.stamp), s.data};
    }
    std::vector<std::string> operator()(const SnapshotReply& s) const {
      return {"REPL.SNAPSHOTTED", num(s.term), s.from, num(s.index), snum(s.stamp)};
    }
  };
  return std::visit(Encoder{}, m);
}

result<Message> decode_message(std::span<const std::string_view> argv) {
  auto bad = [&] {
    return Error(errc::protocol_error,
                 fmt::format("malformed replication message '{}' ({} arguments)",
                             argv.empty() ? std::string_view() : argv[0], argv.size()));
  };
  if (argv.empty()) return bad();
  const std::string_view name = argv[0];
  Fields f(argv);
  if (nodes::iequals(name, "repl.vote")) {
    VoteRequest v;
    f.u64(v.term), f.str(v.candidate), f.u64(v.last_index), f.u64(v.last_term), f.flag(v.prevote);
    if (f.done()) return Message(std::move(v));
  } else if (nodes::iequals(name, "repl.voted")) {
    VoteReply v;
    f.u64(v.term), f.str(v.from), f.flag(v.granted), f.flag(v.prevote);
    if (f.done()) return Message(std::move(v));
  } else if (nodes::iequals(name, "repl.append")) {
    AppendRequest a;
    uint64_t n = 0;
    f.u64(a.term), f.str(a.master), f.u64(a.prev_index), f.u64(a.prev_term), f.u64(a.commit),
        f.i64(a.stamp), f.u64(n);
    if (f.left() != 2 * n) return bad();
    a.entries.resize(n);
    for (uint64_t i = 0; i < n; ++i) {
      a.entries[i].index = a.prev_index + 1 + i;
      f.u64(a.entries[i].term), f.str(a.entries[i].data);
    }
    if (f.done()) return Message(std::move(a));
  } else if (nodes::iequals(name, "repl.appended")) {
    AppendReply r;
    f.u64(r.term), f.str(r.from), f.flag(r.success), f.u64(r.index), f.u64(r.hint),
        f.flag(r.need_snapshot), f.i64(r.stamp);
    if (f.done()) return Message(std::move(r));
  } else if (nodes::iequals(name, "repl.snapshot")) {
    SnapshotRequest s;
    f.u64(s.term), f.str(s.master), f.u64(s.index), f.u64(s.last_term), f.i64(s.stamp),
        f.str(s.data);
    if (f.done()) return Message(std::move(s));
  } else if (nodes::iequals(name, "repl.snapshotted")) {
    SnapshotReply s;
    f.u64(s.term), f.str(s.from), f.u64(s.index), f.i64(s.stamp);
    if (f.done()) return Message(std::move(s));
  }
  return bad();
}

// ---------------------------------------------------------------- core

Replication::Replication(ReplicationOptions options, ReplicationStorage& storage,
                         StateMachine& machine, ReplicationRecovery recovered, TimePoint now)
    : options_(std::move(options)),
      storage_(storage),
      machine_(machine),
      rng_(Rng(options_.seed).fork(options_.id)) {
  if (std::find(options_.members.begin(), options_.members.end(), options_.id) ==
      options_.members.end()) {
    options_.members.push_back(options_.id);
  }
  for (const std::string& m : options_.members) {
    if (m == options_.id) continue;
    peers_.emplace_back();
    peers_.back().id = m;
  }
  term_ = recovered.term;
  voted_for_ = recovered.voted_for;
  base_index_ = recovered.snapshot_index;
  base_term_ = recovered.snapshot_term;
  for (LogEntry& e : recovered.entries) log_.push_back(std::move(e));
  commit_ = applied_ = base_index_;
  // Leader stickiness from the start: a node that restarts may have echoed a lease stamp just
  // before it died, so it grants no vote for an election timeout.
  last_contact_ = now;
  reset_election_timer(now);
  if (peers_.empty()) become_candidate(now);  // a group of one elects itself at once
}

void Replication::reset_election_timer(TimePoint now) {
  const auto t = static_cast<uint64_t>(options_.election_timeout_ms);
  election_deadline_ = now + static_cast<TimePoint>(rng_.uniform(t, 2 * t - 1));
}

std::optional<uint64_t> Replication::term_at(uint64_t index) const {
  if (index == base_index_) return base_term_;
  if (index < base_index_ || index > last_index()) return std::nullopt;
  return log_[index - base_index_ - 1].term;
}

const LogEntry* Replication::entry(uint64_t index) const {
  if (index <= base_index_ || index > last_index()) return nullptr;
  return &log_[index - base_index_ - 1];
}

Replication::Peer* Replication::peer(const std::string& id) {
  for (Peer& p : peers_) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

bool Replication::log_up_to_date(uint64_t index, uint64_t term) const {
  return term > last_term() || (term == last_term() && index >= last_index());
}

void Replication::set_term(uint64_t term) {
  term_ = term;
  voted_for_.clear();
  storage_.save_term_vote(term_, voted_for_);
}

void Replication::append_local(LogEntry e) {
  storage_.append(e);
  log_.push_back(std::move(e));
}

void Replication::truncate_local(uint64_t after) {
  if (after >= last_index()) return;
  while (last_index() > after) log_.pop_back();
  storage_.truncate_after(after);
  machine_.truncated(after);
}

void Replication::become_slave(uint64_t term, const std::string& master, TimePoint now) {
  if (term > term_) set_term(term);
  const bool was_slave = role_ == Role::slave;
  role_ = Role::slave;
  prevoting_ = false;
  master_ = master;
  if (!was_slave) {
    for (Peer& p : peers_) p.inflight.clear();
  }
  reset_election_timer(now);
}

void Replication::start_prevote(TimePoint now) {
  role_ = Role::candidate;
  prevoting_ = true;
  master_.clear();
  reset_election_timer(now);
  for (Peer& p : peers_) {
    p.vote_granted = false;
    send(p.id, VoteRequest{term_ + 1, options_.id, last_index(), last_term(), true});
  }
}

void Replication::become_candidate(TimePoint now) {
  role_ = Role::candidate;
  prevoting_ = false;
  master_.clear();
  term_ += 1;
  voted_for_ = options_.id;
  storage_.save_term_vote(term_, voted_for_);
  reset_election_timer(now);
  for (Peer& p : peers_) p.vote_granted = false;
  if (majority(1)) return become_master(now);
  for (Peer& p : peers_) {
    send(p.id, VoteRequest{term_, options_.id, last_index(), last_term()});
  }
}

void Replication::become_master(TimePoint now) {
  role_ = Role::master;
  prevoting_ = false;
  master_ = options_.id;
  awaiting_snapshot_ = false;
  last_contact_ = now;
  for (Peer& p : peers_) {
    p.next = last_index() + 1;
    p.match = 0;
    p.state = Peer::State::probe;
    p.inflight.clear();
    p.last_reply = now;  // grace: check-quorum counts from the election
    p.echoed = 0;
  }
  append_local(LogEntry{last_index() + 1, term_, {}});
  term_start_index_ = last_index();
  term_started_at_ = now;
  last_heartbeat_ = now;
  broadcast(now, false);
  advance_commit();
}

void Replication::tick(TimePoint now) {
  if (role_ != Role::master) {
    if (now >= election_deadline_) start_prevote(now);
    return;
  }
  // Check quorum: the newest time a majority (this node included) was heard from.
  std::vector<TimePoint> heard;
  for (const Peer& p : peers_) heard.push_back(p.last_reply);
  std::sort(heard.begin(), heard.end(), std::greater<>());
  const size_t need = options_.members.size() / 2;  // peers needed besides this node
  if (need > 0) last_contact_ = heard[need - 1];
  if (need > 0 && now - last_contact_ >= options_.election_timeout_ms && !options_.bug_no_fencing) {
    become_slave(term_, "", now);
    return;
  }
  for (Peer& p : peers_) {
    const bool stuck_window = p.state == Peer::State::replicate && !p.inflight.empty() &&
                              now - p.inflight.front().second >= 4 * options_.heartbeat_ms;
    const bool stuck_snapshot =
        p.state == Peer::State::snapshot && now - p.last_send >= options_.election_timeout_ms;
    if (stuck_window || stuck_snapshot) {
      // Lost messages: fall back to one probe at a time from what is known to match.
      p.state = Peer::State::probe;
      p.inflight.clear();
      p.next = p.match + 1;
    }
  }
  if (now - last_heartbeat_ >= options_.heartbeat_ms) {
    last_heartbeat_ = now;
    broadcast(now, true);
  }
  flush(now);
}

void Replication::broadcast(TimePoint now, bool heartbeat) {
  for (Peer& p : peers_) {
    if (p.state == Peer::State::snapshot) {
      // Keeps the lease and the slave's timer while the snapshot is on its way.
      if (heartbeat && p.match >= base_index_) send_append(p, now, true);
      continue;
    }
    send_append(p, now, heartbeat);
  }
}

void Replication::send_append(Peer& p, TimePoint now, bool heartbeat) {
  AppendRequest a;
  a.term = term_;
  a.master = options_.id;
  a.commit = commit_;
  a.stamp = now;
  if (heartbeat && p.state != Peer::State::probe) {
    // Carries no entries, so its prev must be what is known to match.
    a.prev_index = p.match;
    if (p.match < base_index_) return send_snapshot(p, now);
    a.prev_term = *term_at(p.match);
    a.commit = std::min(commit_, p.match);
    p.last_send = now;
    send(p.id, std::move(a));
    return;
  }
  a.prev_index = p.next - 1;
  if (a.prev_index < base_index_) return send_snapshot(p, now);
  a.prev_term = *term_at(a.prev_index);
  size_t bytes = 0;
  for (uint64_t i = p.next; i <= last_index(); ++i) {
    const LogEntry& e = log_[i - base_index_ - 1];
    if (!a.entries.empty() && bytes + e.data.size() > options_.max_batch_bytes) break;
    bytes += e.data.size() + 16;
    a.entries.push_back(e);
  }
  const uint64_t last_sent = a.prev_index + a.entries.size();
  if (p.state == Peer::State::replicate) {
    if (a.entries.empty()) return;
    p.next = last_sent + 1;
    p.inflight.emplace_back(last_sent, now);
  } else {
    // probe: one outstanding at a time; a heartbeat re-sends it.
    p.inflight.assign(1, {last_sent, now});
  }
  p.last_send = now;
  send(p.id, std::move(a));
}

void Replication::send_snapshot(Peer& p, TimePoint now) {
  SnapshotRequest s;
  s.term = term_;
  s.master = options_.id;
  s.index = applied_;
  s.last_term = term_at(applied_).value_or(0);
  s.stamp = now;
  s.data = machine_.snapshot();
  p.state = Peer::State::snapshot;
  p.inflight.clear();
  p.next = applied_ + 1;
  p.last_send = now;
  send(p.id, std::move(s));
}

void Replication::flush(TimePoint now) {
  if (role_ != Role::master) return;
  for (Peer& p : peers_) {
    if (p.state == Peer::State::replicate) {
      while (p.next <= last_index() && p.inflight.size() < options_.max_inflight) {
        const size_t before = p.inflight.size();
        send_append(p, now, false);
        if (p.inflight.size() == before) break;
      }
    } else if (p.state == Peer::State::probe && p.inflight.empty() && p.next <= last_index()) {
      send_append(p, now, false);
    }
  }
  advance_commit();
}

void Replication::advance_commit() {
  if (role_ != Role::master) return;
  uint64_t n = last_index();
  if (options_.mode == ReplicationMode::sync && !options_.bug_commit_own_log) {
    std::vector<uint64_t> match = {last_index()};
    for (const Peer& p : peers_) match.push_back(p.match);
    std::sort(match.begin(), match.end(), std::greater<>());
    n = match[options_.members.size() / 2];
    // Only an entry of the current term is committed by counting (Raft, figure 8).
    if (term_at(n) != term_) return;
  }
  if (n > commit_) {
    commit_ = n;
    apply_committed();
  }
}

void Replication::apply_committed() {
  while (applied_ < commit_) {
    const LogEntry* e = entry(applied_ + 1);
    if (!e) break;
    ++applied_;
    machine_.apply(*e);
  }
}

Replication::Proposed Replication::propose(std::string data, TimePoint now) {
  Proposed out;
  out.refusal = read_refusal(now);
  if (out.refusal != Refusal::none) return out;
  out.index = last_index() + 1;
  out.term = term_;
  append_local(LogEntry{out.index, term_, std::move(data)});
  return out;
}

Refusal Replication::read_refusal(TimePoint now) const {
  if (role_ != Role::master) return Refusal::not_master;
  if (!options_.bug_no_fencing && lease_until() <= now) return Refusal::no_lease;
  if (commit_ < term_start_index_) return Refusal::not_ready;
  return Refusal::none;
}

TimePoint Replication::lease_until() const {
  if (role_ != Role::master) return 0;
  const size_t need = options_.members.size() / 2;  // echoes needed besides this node
  if (need == 0) return kForever;
  // Asked on every read: no allocation.
  scratch_.clear();
  for (const Peer& p : peers_) scratch_.push_back(p.echoed);
  std::nth_element(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(need - 1),
                   scratch_.end(), std::greater<>());
  const TimePoint stamp = scratch_[need - 1];
  return stamp == 0 ? 0 : stamp + options_.lease_ms;
}

std::vector<SlaveProgress> Replication::slaves() const {
  std::vector<SlaveProgress> out;
  if (role_ != Role::master) return out;
  for (const Peer& p : peers_) out.push_back({p.id, p.match, p.last_reply});
  return out;
}

void Replication::compact(uint64_t index) {
  index = std::min(index, applied_);
  if (index <= base_index_) return;
  base_term_ = *term_at(index);
  while (base_index_ < index) {
    log_.pop_front();
    ++base_index_;
  }
}

void Replication::receive(const Message& m, TimePoint now) {
  std::visit(
      [&](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, VoteRequest>) on_vote(msg, now);
        if constexpr (std::is_same_v<T, VoteReply>) on_vote_reply(msg, now);
        if constexpr (std::is_same_v<T, AppendRequest>) on_append(msg, now);
        if constexpr (std::is_same_v<T, AppendReply>) on_append_reply(msg, now);
        if constexpr (std::is_same_v<T, SnapshotRequest>) on_snapshot(msg, now);
        if constexpr (std::is_same_v<T, SnapshotReply>) on_snapshot_reply(msg, now);
      },
      m);
}

void Replication::on_vote(const VoteRequest& m, TimePoint now) {
  if (!peer(m.candidate)) return;
  VoteReply r{term_, options_.id, false, m.prevote};
  // Stickiness: a live master (or a slave that heard from one within the minimum election
  // timeout) refuses without adopting the term, so a lease given to the master stays valid.
  const bool sticky = role_ == Role::master ||
                      (role_ == Role::slave && now - last_contact_ < options_.election_timeout_ms);
  if (m.prevote) {
    r.granted = m.term > term_ && !sticky && log_up_to_date(m.last_index, m.last_term);
    if (r.granted) r.term = m.term;
    return send(m.candidate, r);
  }
  if (m.term < term_ || sticky) return send(m.candidate, r);
  if (m.term > term_) become_slave(m.term, "", now);
  if ((voted_for_.empty() || voted_for_ == m.candidate) &&
      log_up_to_date(m.last_index, m.last_term)) {
    voted_for_ = m.candidate;
    storage_.save_term_vote(term_, voted_for_);
    reset_election_timer(now);
    r.granted = true;
  }
  r.term = term_;
  send(m.candidate, r);
}

void Replication::on_vote_reply(const VoteReply& m, TimePoint now) {
  if (m.prevote) {
    if (!m.granted) {
      if (m.term > term_) become_slave(m.term, "", now);
      return;
    }
    if (role_ != Role::candidate || !prevoting_ || m.term != term_ + 1) return;
    Peer* p = peer(m.from);
    if (!p) return;
    p->vote_granted = true;
    size_t votes = 1;
    for (const Peer& q : peers_) votes += q.vote_granted ? 1 : 0;
    if (majority(votes)) become_candidate(now);
    return;
  }
  if (m.term > term_) return become_slave(m.term, "", now);
  if (role_ != Role::candidate || prevoting_ || m.term != term_ || !m.granted) return;
  Peer* p = peer(m.from);
  if (!p) return;
  p->vote_granted = true;
  size_t votes = 1;
  for (const Peer& q : peers_) votes += q.vote_granted ? 1 : 0;
  if (majority(votes)) become_master(now);
}

void Replication::on_append(const AppendRequest& m, TimePoint now) {
  AppendReply r;
  r.from = options_.id;
  r.stamp = m.stamp;
  r.index = m.prev_index;
  if (m.term < term_) {
    r.term = term_;
    r.hint = last_index();
    return send(m.master, r);
  }
  if (role_ != Role::slave || m.term > term_ || master_ != m.master) {
    become_slave(m.term, m.master, now);
  }
  last_contact_ = now;
  reset_election_timer(now);
  r.term = term_;
  if (awaiting_snapshot_) {
    r.need_snapshot = true;
    return send(m.master, r);
  }
  if (m.prev_index < base_index_) {
    // Entries folded into this node's snapshot cannot be compared one by one. Compare at the
    // snapshot's own index (its term is known), or have the master resume there.
    const uint64_t end = m.prev_index + m.entries.size();
    if (end < base_index_) {
      r.hint = base_index_;
      return send(m.master, r);
    }
    if (m.entries[base_index_ - m.prev_index - 1].term != base_term_) {
      awaiting_snapshot_ = true;  // the snapshot holds writes the master never had (async)
      r.need_snapshot = true;
      return send(m.master, r);
    }
  }
  if (m.prev_index > last_index()) {
    r.hint = last_index();
    return send(m.master, r);
  }
  if (m.prev_index >= base_index_ && term_at(m.prev_index) != m.prev_term) {
    // Skip back over the whole conflicting term in one round trip.
    const uint64_t t = *term_at(m.prev_index);
    uint64_t i = m.prev_index;
    while (i > base_index_ && i > applied_ && term_at(i - 1) == t) --i;
    r.hint = i - 1;
    if (m.prev_index <= applied_) {
      // An applied entry differs from the master's: this node kept writes a newer master never
      // had (async). Its state cannot be rolled back entry by entry; resync from a snapshot.
      awaiting_snapshot_ = true;
      r.need_snapshot = true;
    }
    return send(m.master, r);
  }
  for (const LogEntry& e : m.entries) {
    if (e.index <= base_index_) continue;  // matched at base_index_ above
    if (e.index <= last_index()) {
      if (term_at(e.index) == e.term) continue;
      if (e.index <= applied_) {
        awaiting_snapshot_ = true;
        r.need_snapshot = true;
        return send(m.master, r);
      }
      truncate_local(e.index - 1);
    }
    append_local(e);
  }
  const uint64_t matched = m.prev_index + m.entries.size();
  const uint64_t commit = std::min(m.commit, matched);
  if (commit > commit_) {
    commit_ = commit;
    apply_committed();
  }
  r.success = true;
  r.index = matched;
  send(m.master, r);
}

Replication::Peer* Replication::reply_peer(uint64_t term, const std::string& from,
                                            TimePoint stamp, TimePoint now) {
  if (term > term_) {
    become_slave(term, "", now);
    return nullptr;
  }
  if (role_ != Role::master || term < term_) return nullptr;
  Peer* p = peer(from);
  if (!p) return nullptr;
  p->last_reply = now;
  // Only a stamp of this term proves the slave took this node as its master when it answered
  // (a reply in this term to an Append of an older term echoes an older stamp).
  if (stamp >= term_started_at_) p->echoed = std::max(p->echoed, stamp);
  return p;
}

void Replication::on_append_reply(const AppendReply& m, TimePoint now) {
  Peer* p = reply_peer(m.term, m.from, m.stamp, now);
  if (!p) return;
  if (m.success) {
    if (p->state == Peer::State::snapshot) return;
    while (!p->inflight.empty() && p->inflight.front().first <= m.index) p->inflight.pop_front();
    if (m.index > p->match) p->match = m.index;
    if (p->state == Peer::State::probe) {
      p->state = Peer::State::replicate;
      p->inflight.clear();
      p->next = p->match + 1;
    }
    p->next = std::max(p->next, p->match + 1);
    flush(now);
    return;
  }
  if (m.need_snapshot) {
    if (p->state != Peer::State::snapshot) send_snapshot(*p, now);
    return;
  }
  const bool current = (p->state == Peer::State::probe && m.index + 1 == p->next) ||
                       p->state == Peer::State::replicate;
  if (!current) return;
  p->state = Peer::State::probe;
  p->inflight.clear();
  if (m.hint > last_index()) {
    // The slave's snapshot reaches past this log: it applied writes this master never had.
    return send_snapshot(*p, now);
  }
  p->match = std::min(p->match, m.hint);
  p->next = m.hint + 1;
  send_append(*p, now, false);
}

void Replication::on_snapshot(const SnapshotRequest& m, TimePoint now) {
  SnapshotReply r{term_, options_.id, 0, m.stamp};
  if (m.term < term_) return send(m.master, r);
  if (role_ != Role::slave || m.term > term_ || master_ != m.master) {
    become_slave(m.term, m.master, now);
  }
  last_contact_ = now;
  reset_election_timer(now);
  r.term = term_;
  // Install when it brings news, when this node asked for it, or when this node's own snapshot
  // reaches past the master's state (it applied writes the master never had: async rollback).
  if (m.index > commit_ || awaiting_snapshot_ || m.index < base_index_) {
    machine_.restore(m.index, m.last_term, m.data);
    storage_.install_snapshot(m.index, m.last_term, m.data);
    log_.clear();
    base_index_ = m.index;
    base_term_ = m.last_term;
    commit_ = applied_ = m.index;
    awaiting_snapshot_ = false;
  }
  r.index = m.index;
  send(m.master, r);
}

void Replication::on_snapshot_reply(const SnapshotReply& m, TimePoint now) {
  Peer* p = reply_peer(m.term, m.from, m.stamp, now);
  if (!p) return;
  if (p->state != Peer::State::snapshot) return;
  p->match = std::max(p->match, m.index);
  p->next = p->match + 1;
  p->state = Peer::State::probe;
  p->inflight.clear();
  send_append(*p, now, false);
}

}  // namespace fl::db
