#include "harness/check/evidence.h"

#include <boost/json.hpp>

namespace fl::check {
namespace {

namespace json = boost::json;

json::value opt(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
bool boolean(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_bool() && v->as_bool();
}
int64_t integer(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_int64() ? v->as_int64() : v && v->is_uint64() ? int64_t(v->as_uint64()) : 0;
}
std::optional<std::string> opt_str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}
const json::array& arr(const json::object& o, std::string_view k) {
  static const json::array kEmpty;
  auto* v = o.if_contains(k);
  return v && v->is_array() ? v->as_array() : kEmpty;
}

}  // namespace

const std::string* NodeStats::field(std::string_view name) const {
  for (const auto& [k, v] : info) {
    if (k == name) return &v;
  }
  return nullptr;
}

std::vector<std::pair<std::string, std::string>> parse_info(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    out.emplace_back(std::string(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  return out;
}

std::string convergence_json(const ConvergenceEvidence& e) {
  json::object o;
  o["quiet_ns"] = e.quiet_ns;
  o["deadline_ns"] = e.deadline_ns;
  o["elapsed_ns"] = e.elapsed_ns;
  o["attempts"] = e.attempts;
  if (!e.digests_skipped.empty()) o["digests_skipped"] = e.digests_skipped;
  json::array shards;
  for (const auto& s : e.shards) {
    json::array replicas;
    for (const auto& d : s.replicas) {
      json::object r{{"node", d.node}, {"running", d.running}, {"digest", d.digest}};
      if (!d.error.empty()) r["error"] = d.error;
      replicas.push_back(std::move(r));
    }
    shards.push_back(json::object{{"shard", s.shard}, {"replicas", std::move(replicas)}});
  }
  o["shards"] = std::move(shards);
  json::array caches;
  for (const auto& c : e.caches) {
    json::array mismatches;
    for (const auto& m : c.mismatches) {
      json::object mm{{"key", m.key}, {"cached", opt(m.cached)}, {"db", opt(m.db)}};
      if (!m.error.empty()) mm["error"] = m.error;
      mismatches.push_back(std::move(mm));
    }
    json::object co{{"node", c.node},
                    {"running", c.running},
                    {"entries", c.entries},
                    {"compared", c.compared},
                    {"mismatches", std::move(mismatches)}};
    if (!c.error.empty()) co["error"] = c.error;
    caches.push_back(std::move(co));
  }
  o["caches"] = std::move(caches);
  return json::serialize(o);
}

result<ConvergenceEvidence> parse_convergence_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return Error(errc::parse_error, "convergence.json: not a JSON object");
  }
  const auto& o = v.as_object();
  ConvergenceEvidence e;
  e.quiet_ns = integer(o, "quiet_ns");
  e.deadline_ns = integer(o, "deadline_ns");
  e.elapsed_ns = integer(o, "elapsed_ns");
  e.attempts = static_cast<int>(integer(o, "attempts"));
  e.digests_skipped = str(o, "digests_skipped");
  for (const auto& sv : arr(o, "shards")) {
    if (!sv.is_object()) continue;
    ShardDigests s;
    s.shard = static_cast<int>(integer(sv.as_object(), "shard"));
    for (const auto& rv : arr(sv.as_object(), "replicas")) {
      if (!rv.is_object()) continue;
      const auto& r = rv.as_object();
      s.replicas.push_back({str(r, "node"), boolean(r, "running"), str(r, "digest"), str(r, "error")});
    }
    e.shards.push_back(std::move(s));
  }
  for (const auto& cv : arr(o, "caches")) {
    if (!cv.is_object()) continue;
    const auto& c = cv.as_object();
    CacheReading r;
    r.node = str(c, "node");
    r.running = boolean(c, "running");
    r.entries = static_cast<size_t>(integer(c, "entries"));
    r.compared = static_cast<size_t>(integer(c, "compared"));
    r.error = str(c, "error");
    for (const auto& mv : arr(c, "mismatches")) {
      if (!mv.is_object()) continue;
      const auto& m = mv.as_object();
      r.mismatches.push_back({str(m, "key"), opt_str(m, "cached"), opt_str(m, "db"), str(m, "error")});
    }
    e.caches.push_back(std::move(r));
  }
  return e;
}

}  // namespace fl::check
