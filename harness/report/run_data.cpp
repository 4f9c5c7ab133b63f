#include "harness/report/run_data.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <set>

#include "common/file_io.h"
#include "common/hash_ring.h"
#include "harness/report/run_facts.h"

namespace fl::report {
namespace json = boost::json;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// LatencyHistogram

int LatencyHistogram::bucket_of(int64_t ns) {
  if (ns < 1) return 0;
  const double b = std::log2(static_cast<double>(ns)) * kSubBuckets;
  return std::clamp(static_cast<int>(b), 0, kBuckets - 1);
}

void LatencyHistogram::add(int64_t latency_ns) {
  if (buckets_.empty()) buckets_.assign(kBuckets, 0);
  ++buckets_[static_cast<size_t>(bucket_of(latency_ns))];
  ++count_;
  max_ = std::max(max_, latency_ns);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  if (buckets_.empty()) buckets_.assign(kBuckets, 0);
  for (size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

double LatencyHistogram::quantile(double q) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<int64_t>(std::ceil(q * static_cast<double>(count_)));
  int64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= std::max<int64_t>(rank, 1)) {
      // The bucket's geometric middle, never above the largest latency seen.
      double mid = std::exp2((static_cast<double>(i) + 0.5) / kSubBuckets);
      return std::min(mid, static_cast<double>(max_));
    }
  }
  return static_cast<double>(max_);
}

// ---------------------------------------------------------------------------------------------
// OpBinner

OpBinner::OpBinner(Options options)
    : o_(options), width_(std::max<int64_t>(options.initial_width, 1)) {
  o_.max_bins = std::max<size_t>(o_.max_bins, 2);
}

uint16_t OpBinner::kind(std::string_view f) {
  auto it = kind_ids_.find(std::string(f));
  if (it != kind_ids_.end()) return it->second;
  auto id = static_cast<uint16_t>(kinds_.size());
  kinds_.emplace_back(f);
  kind_ids_.emplace(std::string(f), id);
  totals_.resize(kinds_.size() * kOutcomes, 0);
  return id;
}

uint64_t OpBinner::next_random() {
  // splitmix64: a fixed sequence, so the same history always gives the same page.
  uint64_t z = (rng_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void OpBinner::merge_cell(Cell& into, Cell&& from) {
  if (from.count == 0) return;
  // The loser of each extreme comparison becomes an ordinary sample, so nothing seen twice is lost
  // and a cell's own extremes stay exact.
  std::vector<OpPoint> pool = std::move(into.sample);
  pool.insert(pool.end(), from.sample.begin(), from.sample.end());
  if (into.count == 0) {
    into.min = from.min;
    into.max = from.max;
  } else {
    if (from.min.latency < into.min.latency) {
      pool.push_back(into.min);
      into.min = from.min;
    } else {
      pool.push_back(from.min);
    }
    if (from.max.latency > into.max.latency) {
      pool.push_back(into.max);
      into.max = from.max;
    } else {
      pool.push_back(from.max);
    }
  }
  into.count += from.count;
  // Keep an evenly spread subset of the pool (sorted by time) of the allowed size.
  const size_t cap = o_.sample_per_cell;
  std::sort(pool.begin(), pool.end(), [](const OpPoint& a, const OpPoint& b) {
    return a.time != b.time ? a.time < b.time : a.latency < b.latency;
  });
  pool.erase(std::unique(pool.begin(), pool.end(),
                         [](const OpPoint& a, const OpPoint& b) {
                           return a.time == b.time && a.latency == b.latency;
                         }),
             pool.end());
  if (pool.size() > cap) {
    std::vector<OpPoint> kept;
    kept.reserve(cap);
    for (size_t i = 0; i < cap; ++i) kept.push_back(pool[i * pool.size() / cap]);
    pool = std::move(kept);
  }
  into.sample = std::move(pool);
}

void OpBinner::merge_pairs() {
  std::vector<Bin> merged((bins_.size() + 1) / 2);
  for (size_t i = 0; i < bins_.size(); ++i) {
    Bin& into = merged[i / 2];
    Bin& from = bins_[i];
    if (into.cells.size() < from.cells.size()) into.cells.resize(from.cells.size());
    for (size_t c = 0; c < from.cells.size(); ++c)
      merge_cell(into.cells[c], std::move(from.cells[c]));
    into.latency.merge(from.latency);
    for (size_t o = 0; o < kOutcomes; ++o) into.completed[o] += from.completed[o];
    if (into.shard_total.size() < from.shard_total.size()) {
      into.shard_total.resize(from.shard_total.size(), 0);
      into.shard_served.resize(from.shard_served.size(), 0);
    }
    for (size_t s = 0; s < from.shard_total.size(); ++s) {
      into.shard_total[s] += from.shard_total[s];
      into.shard_served[s] += from.shard_served[s];
    }
  }
  bins_ = std::move(merged);
  width_ *= 2;
}

void OpBinner::grow_to(size_t index) {
  if (index < bins_.size()) return;
  bins_.resize(index + 1);
}

void OpBinner::add(uint16_t f, Outcome outcome, OpPoint p, int shard, bool served) {
  if (f >= kinds_.size()) return;
  p.time = std::max<int64_t>(p.time, 0);
  p.latency = std::max<int64_t>(p.latency, 0);
  const int64_t done = p.time + p.latency;
  while (static_cast<size_t>(done / width_) >= o_.max_bins) merge_pairs();
  const auto index = static_cast<size_t>(p.time / width_);
  const auto done_index = static_cast<size_t>(done / width_);
  grow_to(done_index);
  ++bins_[done_index].completed[static_cast<size_t>(outcome)];
  Bin& bin = bins_[index];
  const size_t c = f * kOutcomes + static_cast<size_t>(outcome);
  if (bin.cells.size() <= c) bin.cells.resize(kinds_.size() * kOutcomes);
  Cell& cell = bin.cells[c];
  ++cell.count;
  if (cell.count == 1) {
    cell.min = cell.max = p;
  } else if (cell.count == 2) {
    // The first point was both extremes; now each is its own.
    if (p.latency < cell.min.latency) {
      cell.min = p;
    } else {
      cell.max = p;
    }
  } else {
    // The displaced extreme (or the new point) competes for a sample slot by reservoir sampling.
    OpPoint candidate = p;
    if (p.latency < cell.min.latency) {
      candidate = cell.min;
      cell.min = p;
    } else if (p.latency > cell.max.latency) {
      candidate = cell.max;
      cell.max = p;
    }
    if (cell.sample.size() < o_.sample_per_cell) {
      cell.sample.push_back(candidate);
    } else if (o_.sample_per_cell > 0) {
      const uint64_t slot = next_random() % static_cast<uint64_t>(cell.count);
      if (slot < o_.sample_per_cell) cell.sample[slot] = candidate;
    }
  }
  bin.latency.add(p.latency);
  if (shard >= 0 && shard < o_.shards) {
    if (bin.shard_total.empty()) {
      bin.shard_total.assign(static_cast<size_t>(o_.shards), 0);
      bin.shard_served.assign(static_cast<size_t>(o_.shards), 0);
    }
    ++bin.shard_total[static_cast<size_t>(shard)];
    if (served) ++bin.shard_served[static_cast<size_t>(shard)];
    ++keyed_;
  }
  ++totals_[c];
  ++total_;
  if (p.latency > max_.latency) max_ = p;
}

int64_t OpBinner::count(uint16_t f, Outcome o) const {
  const size_t c = f * kOutcomes + static_cast<size_t>(o);
  return c < totals_.size() ? totals_[c] : 0;
}

// ---------------------------------------------------------------------------------------------
// Loading

namespace {

std::string str(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v && v->is_string()) return std::string(v->as_string());
  return {};
}

std::optional<int64_t> integer(const json::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key)) {
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
    if (v->is_double()) return static_cast<int64_t>(v->as_double());
  }
  return std::nullopt;
}

// Calls fn(line, number) for each line of a file, read in chunks (the file is never whole in
// memory). False when the file cannot be opened.
template <class Fn>
bool for_each_line(const fs::path& path, Fn&& fn) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) return false;
  std::string buf;
  std::vector<char> chunk(1 << 20);
  size_t number = 0;
  for (size_t n; (n = std::fread(chunk.data(), 1, chunk.size(), file.get())) > 0;) {
    buf.append(chunk.data(), n);
    size_t start = 0;
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
      fn(std::string_view(buf).substr(start, nl - start), ++number, true);
    }
    buf.erase(0, start);
  }
  if (!buf.empty()) fn(std::string_view(buf), ++number, false);
  return true;
}

void load_cluster(RunData& d) {
  const fs::path path = d.dir / "cluster.json";
  std::string text;
  for_each_line(path, [&](std::string_view line, size_t, bool) {
    text.append(line);
    text.push_back('\n');
  });
  if (text.empty()) {
    d.warnings.push_back("cluster.json is missing: nodes are taken from events.jsonl");
    return;
  }
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    d.warnings.push_back(fmt::format("cluster.json: {}", ec ? ec.message() : "not an object"));
    return;
  }
  int max_shard = -1;
  if (auto* nodes = v.as_object().if_contains("nodes"); nodes && nodes->is_array()) {
    for (const auto& n : nodes->as_array()) {
      if (!n.is_object()) continue;
      const auto& o = n.as_object();
      ClusterNode c;
      c.id = str(o, "id");
      c.kind = str(o, "kind");
      c.group = str(o, "group");
      c.shard = static_cast<int>(integer(o, "shard").value_or(-1));
      if (c.id.empty()) continue;
      if (c.kind == "db") max_shard = std::max(max_shard, c.shard);
      d.nodes.push_back(std::move(c));
    }
  }
  d.shards = max_shard + 1;
}

// The node.* events of one node, and the fault overlays that colour an up node.
struct NodeTimeline {
  std::vector<std::pair<int64_t, NodeSpan::State>> changes;
  std::vector<std::string> whys;
  struct Overlay {
    int64_t start, end;
    NodeSpan::State state;
    std::string why;
  };
  std::vector<Overlay> overlays;
};

void build_spans(RunData& d, std::map<std::string, NodeTimeline>& timelines) {
  for (auto& node : d.nodes) {
    auto it = timelines.find(node.id);
    if (it == timelines.end()) continue;
    NodeTimeline& t = it->second;
    std::vector<int64_t> cuts;
    for (const auto& [time, state] : t.changes) cuts.push_back(time);
    for (const auto& o : t.overlays) {
      cuts.push_back(o.start);
      cuts.push_back(o.end);
    }
    cuts.push_back(d.end);
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    if (t.changes.empty()) continue;
    size_t next_change = 0;
    std::optional<NodeSpan::State> base;
    std::string base_why;
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      const int64_t a = cuts[i], b = cuts[i + 1];
      if (a >= d.end) break;
      while (next_change < t.changes.size() && t.changes[next_change].first <= a) {
        base = t.changes[next_change].second;
        base_why = t.whys[next_change];
        ++next_change;
      }
      if (!base) continue;
      NodeSpan::State s = *base;
      std::string why = base_why;
      if (s == NodeSpan::State::up) {
        for (const auto& o : t.overlays) {
          if (o.start <= a && a < o.end &&
              (s == NodeSpan::State::up || o.state == NodeSpan::State::cut)) {
            s = o.state;
            why = o.why;
          }
        }
      }
      if (!node.spans.empty() && node.spans.back().state == s && node.spans.back().end == a &&
          node.spans.back().why == why) {
        node.spans.back().end = b;
      } else {
        node.spans.push_back({s, a, b, why});
      }
    }
  }
}

void load_events(RunData& d) {
  const fs::path path = d.dir / "events.jsonl";
  auto text = common::read_whole_file(path);
  if (!text) {
    d.warnings.push_back("events.jsonl is missing: no fault windows or node states");
    return;
  }
  // Fault windows as results.json pairs them (run_facts.h), one rule for both.
  d.faults = fault_timeline(*text);
  std::map<std::string, NodeTimeline> timelines;
  int64_t last = 0;
  std::optional<int64_t> stop;
  size_t bad = 0;
  std::set<std::string> known;
  for (const auto& n : d.nodes) known.insert(n.id);
  // Whether a fault on `node` was open at `time`: a node that exits then is down, not stopped.
  auto faulted = [&](const std::string& node, int64_t time) {
    return std::any_of(d.faults.begin(), d.faults.end(), [&](const FaultWindow& w) {
      return w.start_ns <= time && (!w.end_ns || time <= *w.end_ns) &&
             std::find(w.nodes.begin(), w.nodes.end(), node) != w.nodes.end();
    });
  };
  json::parser parser;
  std::string_view rest = *text;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    boost::system::error_code ec;
    parser.reset();
    parser.write(line, ec);
    if (ec) {
      ++bad;
      continue;
    }
    json::value v = parser.release();
    if (!v.is_object()) continue;
    const auto& o = v.as_object();
    const std::string type = str(o, "type");
    const int64_t time = integer(o, "time").value_or(last);
    last = std::max(last, time);
    if (type.rfind("node.", 0) == 0) {
      const std::string node = str(o, "node");
      if (node.empty()) continue;
      if (!known.count(node)) {
        known.insert(node);
        d.nodes.push_back({node, "", "", -1, {}});
      }
      std::optional<NodeSpan::State> s;
      if (type == "node.spawned") s = NodeSpan::State::starting;
      if (type == "node.ready" || type == "node.resumed") s = NodeSpan::State::up;
      if (type == "node.exited" || type == "node.failed" || type == "node.restarting") {
        // Stopped on purpose (the end of the run, a requested restart) unless a fault on the
        // node is open: a kill the fault schedule made is "expected" by the supervisor too.
        auto* e = o.if_contains("expected");
        s = e && e->is_bool() && e->as_bool() && !faulted(node, time) ? NodeSpan::State::stopped
                                                                      : NodeSpan::State::down;
      }
      if (type == "node.paused") s = NodeSpan::State::paused;
      if (!s) continue;
      auto& t = timelines[node];
      t.changes.emplace_back(time, *s);
      std::string detail = str(o, "detail");
      t.whys.push_back(detail.empty() ? type : type + ": " + detail);
    } else if (type.rfind("phase.", 0) == 0) {
      d.phases.push_back({type.substr(6), time, integer(o, "duration_ns")});
    } else if (type == "run.stop") {
      stop = time;
    }
  }
  if (bad > 0) d.warnings.push_back(fmt::format("events.jsonl: {} malformed line(s) skipped", bad));
  d.end = std::max(d.end, stop.value_or(last));
  // Fault overlays of node states: partitions (cut, or partly cut) and slow links.
  for (const FaultWindow& w : d.faults) {
    const int64_t start = w.start_ns;
    const int64_t end = w.end_ns.value_or(d.end);
    if (w.action == "partition") {
      std::map<std::string, std::set<std::string>> peers;
      for (const auto& [a, b] : w.cuts) {
        peers[a].insert(b);
        peers[b].insert(a);
      }
      const size_t others = d.nodes.size() > 1 ? d.nodes.size() - 1 : 1;
      for (const auto& n : w.nodes) {
        const size_t cut = peers.count(n) ? peers[n].size() : others;
        const auto state = 2 * cut > others ? NodeSpan::State::cut : NodeSpan::State::slow;
        timelines[n].overlays.push_back(
            {start, end, state, fmt::format("{} (cut from {} of {} peers)", w.detail, cut, others)});
      }
    } else if (w.action == "link") {
      for (const auto& n : w.nodes) {
        timelines[n].overlays.push_back({start, end, NodeSpan::State::slow, w.detail});
      }
    }
  }
  std::stable_sort(d.phases.begin(), d.phases.end(),
                   [](const PhaseMark& a, const PhaseMark& b) { return a.start < b.start; });
  build_spans(d, timelines);
}

// The fields of a history line the plots need.
struct LineFields {
  int64_t time = -1;
  int64_t process = 0;
  bool nemesis = false;
  std::string_view type, f, key, error;
  bool has_key = false;
};

// A fast scanner for the lines the history writer produces: a flat object whose strings need no
// unescaping for the fields read here. False when the line is anything else (the caller falls
// back to Boost.JSON).
bool scan_line(std::string_view s, LineFields& out) {
  size_t i = 0;
  const size_t n = s.size();
  auto ws = [&] {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
  };
  // Reads a string starting at s[i] == '"'; false if it has escapes.
  auto string = [&](std::string_view& v, bool& escaped) {
    const size_t start = ++i;
    escaped = false;
    while (i < n && s[i] != '"') {
      if (s[i] == '\\') {
        escaped = true;
        i += 2;
        continue;
      }
      ++i;
    }
    if (i >= n) return false;
    v = s.substr(start, i - start);
    ++i;
    return true;
  };
  ws();
  if (i >= n || s[i] != '{') return false;
  ++i;
  for (;;) {
    ws();
    if (i < n && s[i] == '}') return out.time >= 0;
    if (i >= n || s[i] != '"') return false;
    std::string_view name;
    bool escaped;
    if (!string(name, escaped) || escaped) return false;
    ws();
    if (i >= n || s[i] != ':') return false;
    ++i;
    ws();
    if (i >= n) return false;
    const char c = s[i];
    if (c == '"') {
      std::string_view v;
      if (!string(v, escaped)) return false;
      const bool wanted =
          name == "type" || name == "f" || name == "key" || name == "error" || name == "process";
      if (wanted && escaped) return false;
      if (name == "type") out.type = v;
      if (name == "f") out.f = v;
      if (name == "key") {
        out.key = v;
        out.has_key = true;
      }
      if (name == "error") out.error = v;
      if (name == "process") {
        if (v != "nemesis") return false;
        out.nemesis = true;
      }
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const size_t start = i;
      if (c == '-') ++i;
      int64_t v = 0;
      while (i < n && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0');
      if (i < n && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')) {
        if (name == "time" || name == "process") return false;
        while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ' ') ++i;
      }
      if (s[start] == '-') v = -v;
      if (name == "time") out.time = v;
      if (name == "process") out.process = v;
    } else if (c == '[' || c == '{') {
      if (name == "type" || name == "f" || name == "key" || name == "time" || name == "process") {
        return false;
      }
      int depth = 0;
      while (i < n) {
        const char d = s[i];
        if (d == '"') {
          std::string_view ignored;
          if (!string(ignored, escaped)) return false;
          continue;
        }
        if (d == '[' || d == '{') ++depth;
        if (d == ']' || d == '}') {
          if (--depth == 0) {
            ++i;
            break;
          }
        }
        ++i;
      }
      if (depth != 0) return false;
    } else {
      // null, true, false
      if (name == "key") {
        // "key":null is no key
      } else if (name == "type" || name == "f" || name == "time" || name == "process") {
        return false;
      }
      while (i < n && s[i] >= 'a' && s[i] <= 'z') ++i;
    }
    ws();
    if (i < n && s[i] == ',') {
      ++i;
      continue;
    }
    if (i < n && s[i] == '}') return out.time >= 0;
    return false;
  }
}

// The same fields through Boost.JSON, for lines scan_line declines; strings live in `store`.
bool parse_line(std::string_view line, json::parser& parser, LineFields& out,
                std::array<std::string, 4>& store) {
  boost::system::error_code ec;
  parser.reset();
  parser.write(line, ec);
  if (ec) return false;
  json::value v = parser.release();
  if (!v.is_object()) return false;
  const auto& o = v.as_object();
  auto t = integer(o, "time");
  if (!t) t = integer(o, "index");
  if (!t) return false;
  out.time = *t;
  if (auto* p = o.if_contains("process")) {
    if (p->is_string()) {
      out.nemesis = true;
    } else if (auto pi = integer(o, "process")) {
      out.process = *pi;
    }
  }
  store[0] = str(o, "type");
  store[1] = str(o, "f");
  out.type = store[0];
  out.f = store[1];
  if (auto* k = o.if_contains("key"); k && !k->is_null()) {
    store[2] = k->is_string() ? std::string(k->as_string()) : json::serialize(*k);
    out.key = store[2];
    out.has_key = true;
  }
  store[3] = str(o, "error");
  out.error = store[3];
  return true;
}

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace

void load_history(const fs::path& path, RunData& d, const LoadOptions& options) {
  OpBinner::Options bo;
  bo.max_bins = options.max_bins;
  bo.sample_per_cell = options.sample_per_cell;
  bo.shards = std::max(d.shards, 1);
  // Aim for about half the bins at the run's known length; the binner widens as needed.
  if (d.end > 0) {
    bo.initial_width = std::max<int64_t>(1'000'000, d.end / static_cast<int64_t>(bo.max_bins / 2));
  }
  d.ops = OpBinner(bo);
  struct Pending {
    int64_t time;
    uint16_t f;
    int shard;
  };
  std::unordered_map<int64_t, Pending> pending;
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> shard_cache;
  const int shards = bo.shards;
  auto shard_for = [&](std::string_view key) {
    if (shards <= 1) return 0;
    if (auto it = shard_cache.find(key); it != shard_cache.end()) return it->second;
    int s = shard_of(key, shards);
    if (shard_cache.size() < 1'000'000) shard_cache.emplace(std::string(key), s);
    return s;
  };
  json::parser parser;
  std::array<std::string, 4> store;
  size_t bad = 0, orphans = 0;
  int64_t last = 0;
  const bool found = for_each_line(path, [&](std::string_view line, size_t, bool terminated) {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return;
    LineFields f;
    if (!scan_line(line, f)) {
      f = LineFields{};
      if (!parse_line(line, parser, f, store)) {
        if (terminated) ++bad;  // a cut-short last line is a killed run, not an error
        return;
      }
    }
    if (f.nemesis) return;
    last = std::max(last, f.time);
    if (f.type == "invoke") {
      pending[f.process] = {f.time, d.ops.kind(f.f), f.has_key ? shard_for(f.key) : -1};
      return;
    }
    auto it = pending.find(f.process);
    if (it == pending.end()) {
      ++orphans;
      return;
    }
    const Pending p = it->second;
    pending.erase(it);
    Outcome o = Outcome::info;
    if (f.type == "ok") o = Outcome::ok;
    if (f.type == "fail") o = Outcome::fail;
    const bool served =
        o == Outcome::ok || (o == Outcome::fail && f.error == "precondition failed");
    d.ops.add(p.f, o, {p.time, f.time - p.time}, p.shard, served);
  });
  if (!found) {
    d.warnings.push_back("history.jsonl is missing: no operations to plot");
    return;
  }
  d.never_completed = static_cast<int64_t>(pending.size());
  d.end = std::max(d.end, last);
  if (bad > 0)
    d.warnings.push_back(fmt::format("history.jsonl: {} malformed line(s) skipped", bad));
  if (orphans > 0) {
    d.warnings.push_back(
        fmt::format("history.jsonl: {} completion(s) without an invoke skipped", orphans));
  }
}

result<RunData> load_run(const fs::path& dir, const LoadOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Error{errc::not_found, fmt::format("{}: not a run directory", dir.string())};
  }
  RunData d;
  d.dir = dir;
  if (fs::exists(dir / "results.json")) {
    auto r = read_results(dir / "results.json");
    if (r) {
      d.results = std::move(*r);
      d.end = static_cast<int64_t>(d.results->elapsed_seconds * 1e9);
    } else {
      d.warnings.push_back(r.error().message);
    }
  } else {
    d.warnings.push_back("results.json is missing: the run did not finish");
  }
  load_cluster(d);
  load_events(d);
  load_history(dir / "history.jsonl", d, options);
  if (d.shards <= 0) d.shards = 1;
  return d;
}

}  // namespace fl::report
