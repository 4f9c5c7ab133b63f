#include "harness/check/convergence.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <limits>
#include <map>

namespace fl::check {
namespace {

namespace json = boost::json;

constexpr size_t kMaxListed = 100;

std::optional<double> number(const std::string& s) {
  double d = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), d);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return d;
}

json::value opt(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}

}  // namespace

Result check_convergence(const Input& in) {
  Result out;
  out.name = "convergence";
  if (!in.evidence || !in.evidence->convergence) {
    out.verdict = Verdict::unknown;
    out.summary = "unknown: no convergence evidence (faultline run collects it after the final "
                  "reads; a history alone cannot show it)";
    return out;
  }
  const ConvergenceEvidence& e = *in.evidence->convergence;
  size_t shards_compared = 0, diverged = 0, unreadable = 0, caches_read = 0, entries = 0,
         mismatched = 0;
  json::array diverged_list, errors, mismatch_list;
  for (const auto& s : e.shards) {
    std::map<std::string, std::vector<std::string>> by_digest;
    for (const auto& r : s.replicas) {
      if (!r.running) continue;
      if (!r.error.empty() || r.digest.empty()) {
        ++unreadable;
        errors.push_back(json::object{{"node", r.node}, {"error", r.error}});
        continue;
      }
      by_digest[r.digest].push_back(r.node);
    }
    if (by_digest.empty()) continue;
    ++shards_compared;
    if (by_digest.size() > 1) {
      ++diverged;
      json::object d;
      for (const auto& [digest, nodes] : by_digest) {
        json::array ns;
        for (const auto& n : nodes) ns.push_back(json::value(n));
        d[digest] = std::move(ns);
      }
      diverged_list.push_back(json::object{{"shard", s.shard}, {"digests", std::move(d)}});
    }
  }
  for (const auto& c : e.caches) {
    if (!c.running) continue;
    if (!c.error.empty()) {
      ++unreadable;
      errors.push_back(json::object{{"node", c.node}, {"error", c.error}});
      continue;
    }
    ++caches_read;
    entries += c.compared;
    for (const auto& m : c.mismatches) {
      if (!m.error.empty()) {
        ++unreadable;
        if (errors.size() < kMaxListed) {
          errors.push_back(json::object{{"node", c.node}, {"key", m.key}, {"error", m.error}});
        }
        continue;
      }
      ++mismatched;
      if (mismatch_list.size() < kMaxListed) {
        mismatch_list.push_back(json::object{
            {"node", c.node}, {"key", m.key}, {"cached", opt(m.cached)}, {"db", opt(m.db)}});
      }
    }
  }
  std::string reason;
  if (diverged + mismatched > 0) {
    out.verdict = Verdict::invalid;
  } else if (unreadable > 0) {
    out.verdict = Verdict::unknown;
    reason = fmt::format("{} nodes or entries could not be read", unreadable);
  } else if (shards_compared == 0 && caches_read == 0) {
    out.verdict = Verdict::unknown;
    reason = "nothing to compare (no db shard answered DIGEST, no cache node was read)";
  } else {
    out.verdict = Verdict::valid;
  }
  if (out.verdict == Verdict::unknown) {
    out.summary = "unknown: " + reason;
  } else {
    out.summary = fmt::format(
        "{}: {} of {} shards diverged; {} of {} cached entries on {} caches differ from the DB "
        "(after {:.0f} ms quiet, {} rounds)",
        to_string(out.verdict), diverged, shards_compared, mismatched, entries, caches_read,
        static_cast<double>(e.quiet_ns) / 1e6, e.attempts);
  }
  json::object o;
  o["verdict"] = to_string(out.verdict);
  if (!reason.empty()) o["reason"] = reason;
  o["shards_compared"] = shards_compared;
  o["shards_diverged"] = diverged;
  if (!e.digests_skipped.empty()) o["digests_skipped"] = e.digests_skipped;
  o["caches"] = caches_read;
  o["cached_entries_compared"] = entries;
  o["cached_entries_mismatched"] = mismatched;
  o["unreadable"] = unreadable;
  o["quiet_ms"] = static_cast<double>(e.quiet_ns) / 1e6;
  o["deadline_ms"] = static_cast<double>(e.deadline_ns) / 1e6;
  o["rounds"] = e.attempts;
  o["diverged"] = std::move(diverged_list);
  o["mismatches"] = std::move(mismatch_list);
  o["errors"] = std::move(errors);
  out.details_json = json::serialize(o);
  return out;
}

Result check_stat(const Input& in, const StatFields& f) {
  Result out;
  out.name = "stat";
  const std::string what = fmt::format("{}({}.{})", f.aggregate, f.group, f.stat);
  if (!in.evidence || in.evidence->nodes.empty()) {
    out.verdict = Verdict::unknown;
    out.summary = "unknown: no node statistics (faultline run reads every node's INFO at the end)";
    return out;
  }
  json::object per_node;
  json::array missing;
  std::vector<double> values;
  size_t nodes = 0;
  for (const auto& n : in.evidence->nodes) {
    if (n.group != f.group && n.kind != f.group && n.id != f.group) continue;
    ++nodes;
    const std::string* v = n.field(f.stat);
    std::optional<double> x = v ? number(*v) : std::nullopt;
    if (!x) {
      missing.push_back(json::value(n.id));
      continue;
    }
    per_node[n.id] = *x;
    values.push_back(*x);
  }
  json::object o;
  o["group"] = f.group;
  o["stat"] = f.stat;
  o["aggregate"] = f.aggregate;
  o["nodes"] = nodes;
  o["values"] = per_node;
  o["missing"] = missing;
  if (values.empty()) {
    out.verdict = Verdict::unknown;
    out.summary = nodes == 0 ? fmt::format("unknown: no node of group '{}'", f.group)
                             : fmt::format("unknown: no node of '{}' reported '{}' as a number",
                                           f.group, f.stat);
    o["verdict"] = to_string(out.verdict);
    out.details_json = json::serialize(o);
    return out;
  }
  double agg = 0;
  if (f.aggregate == "min") {
    agg = *std::min_element(values.begin(), values.end());
  } else if (f.aggregate == "max") {
    agg = *std::max_element(values.begin(), values.end());
  } else {
    for (double x : values) agg += x;
    if (f.aggregate == "mean") agg /= static_cast<double>(values.size());
  }
  out.verdict = Verdict::valid;
  if ((f.min && agg < *f.min) || (f.max && agg > *f.max)) out.verdict = Verdict::invalid;
  std::string bounds;
  if (f.min) bounds += fmt::format(" >= {}", *f.min);
  if (f.max) bounds += fmt::format("{} <= {}", f.min ? " and" : "", *f.max);
  out.summary = fmt::format("{}: {} = {:g} over {} nodes{}{}", to_string(out.verdict), what, agg,
                            values.size(), bounds.empty() ? " (report only)" : ", wanted",
                            bounds);
  if (!missing.empty()) out.summary += fmt::format(" ({} nodes without it)", missing.size());
  o["verdict"] = to_string(out.verdict);
  o["value"] = agg;
  if (f.min) o["min"] = *f.min;
  if (f.max) o["max"] = *f.max;
  out.details_json = json::serialize(o);
  return out;
}

namespace {

class ConvergenceChecker final : public Checker {
 public:
  Result check(const Input& in) override { return check_convergence(in); }
};

class StatChecker final : public Checker {
 public:
  explicit StatChecker(StatFields f) : f_(std::move(f)) {}
  Result check(const Input& in) override { return check_stat(in, f_); }

 private:
  StatFields f_;
};

}  // namespace

result<std::unique_ptr<Checker>> make_convergence_checker(const plan::CheckSpec&) {
  return std::make_unique<ConvergenceChecker>();
}

result<std::unique_ptr<Checker>> make_stat_checker(const plan::CheckSpec& spec) {
  StatFields f{spec.group, spec.stat, spec.min, spec.max, spec.aggregate};
  if (f.group.empty() || f.stat.empty()) {
    return Error(errc::invalid_argument, "stat: needs `group` and `stat`");
  }
  if (f.aggregate != "sum" && f.aggregate != "mean" && f.aggregate != "min" &&
      f.aggregate != "max") {
    return Error(errc::invalid_argument,
                 fmt::format("stat: aggregate '{}' is not sum, mean, min or max", f.aggregate));
  }
  return std::make_unique<StatChecker>(std::move(f));
}

}  // namespace fl::check
