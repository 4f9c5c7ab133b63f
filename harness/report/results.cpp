#include "harness/report/results.h"

#include <boost/json.hpp>
#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace fl::report {
namespace {

namespace json = boost::json;

json::object latency_json(const Latency& l) {
  return {{"p50_ms", l.p50_ms}, {"p90_ms", l.p90_ms}, {"p99_ms", l.p99_ms},
          {"p999_ms", l.p999_ms}, {"max_ms", l.max_ms}};
}

json::value parse_or_string(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return json::string(text);
  return v;
}

// Boost.JSON's serializer writes one line; indent it for people, keeping it valid JSON.
void pretty(std::string& out, const json::value& v, int indent) {
  const std::string pad(static_cast<size_t>(indent) * 2, ' ');
  const std::string inner(static_cast<size_t>(indent + 1) * 2, ' ');
  if (v.is_object()) {
    const auto& o = v.as_object();
    if (o.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    size_t i = 0;
    for (const auto& [k, child] : o) {
      out += inner + json::serialize(json::string(k)) + ": ";
      pretty(out, child, indent + 1);
      out += ++i < o.size() ? ",\n" : "\n";
    }
    out += pad + "}";
  } else if (v.is_array()) {
    const auto& a = v.as_array();
    // Short arrays of scalars stay on one line.
    bool scalars = a.size() <= 8;
    for (const auto& e : a) scalars = scalars && !e.is_object() && !e.is_array();
    if (a.empty() || scalars) {
      out += "[";
      for (size_t i = 0; i < a.size(); ++i) {
        if (i) out += ", ";
        pretty(out, a[i], indent + 1);
      }
      out += "]";
      return;
    }
    out += "[\n";
    for (size_t i = 0; i < a.size(); ++i) {
      out += inner;
      pretty(out, a[i], indent + 1);
      out += i + 1 < a.size() ? ",\n" : "\n";
    }
    out += pad + "]";
  } else if (v.is_double()) {
    // Boost.JSON writes 2000.0 as "2E3"; fmt's shortest form ("2000", "5.0544") reads better
    // and is still valid JSON. NaN and infinities have no JSON form.
    const double d = v.as_double();
    out += std::isfinite(d) ? fmt::format("{}", d) : "null";
  } else {
    out += json::serialize(v);
  }
}

constexpr const char* kReset = "\x1b[0m";
constexpr const char* kBold = "\x1b[1m";

const char* verdict_colour(const std::string& v) {
  if (v == "valid") return "\x1b[32m";
  if (v == "invalid") return "\x1b[31m";
  if (v == "unknown") return "\x1b[33m";
  return "\x1b[35m";
}

}  // namespace

std::string results_json(const RunReport& r) {
  json::object root;
  root["faultline_version"] = r.faultline_version;
  root["plan"] = r.plan;
  root["plan_file"] = r.plan_file;
  root["seed"] = r.seed;
  root["run_dir"] = r.run_dir;
  root["started_at"] = r.started_at;
  root["verdict"] = r.verdict;
  root["exit_code"] = r.exit_code;
  if (!r.error.empty()) root["error"] = r.error;
  root["replay"] = fmt::format("faultline run {}/plan.toml", r.run_dir);
  root["workload"] = json::object{{"kind", r.workload},
                                  {"mode", r.mode},
                                  {"target_rate", r.target_rate},
                                  {"concurrency", r.concurrency},
                                  {"planned_seconds", r.planned_seconds},
                                  {"elapsed_seconds", r.elapsed_seconds},
                                  {"history_ops", r.history_ops}};
  json::array phases;
  for (const auto& p : r.phases) {
    phases.push_back(json::object{{"name", p.name},
                                  {"ok", p.ok},
                                  {"fail", p.fail},
                                  {"info", p.info},
                                  {"late", p.late},
                                  {"ops_per_sec", p.ops_per_sec},
                                  {"latency", latency_json(p.latency)}});
  }
  root["phases"] = std::move(phases);
  json::array checks;
  for (const auto& c : r.checks) {
    json::object o{{"kind", c.kind}, {"verdict", c.verdict}, {"summary", c.summary},
                   {"seconds", c.seconds}};
    if (!c.model.empty()) o["model"] = c.model;
    o["workload"] = c.workload.empty() ? json::value(nullptr) : json::value(c.workload);
    o["details"] = parse_or_string(c.details_json);
    checks.push_back(std::move(o));
  }
  root["checks"] = std::move(checks);
  json::array nodes;
  for (const auto& n : r.nodes) {
    json::object o{{"id", n.id}, {"kind", n.kind}, {"pid", n.pid}, {"address", n.address}};
    if (!n.group.empty()) o["group"] = n.group;
    if (n.shard >= 0) o["shard"] = n.shard;
    if (!n.info.empty()) {
      // Numbers as numbers, so that scripts (and the stat checker's readers) need not parse.
      json::object info;
      for (const auto& [k, v] : n.info) {
        double d = 0;
        auto res = std::from_chars(v.data(), v.data() + v.size(), d);
        const bool numeric = !v.empty() && res.ec == std::errc() &&
                             res.ptr == v.data() + v.size() && std::isfinite(d);
        if (numeric && v.find_first_of(".eE") == std::string::npos) {
          int64_t i = 0;
          auto ri = std::from_chars(v.data(), v.data() + v.size(), i);
          if (ri.ec == std::errc() && ri.ptr == v.data() + v.size()) {
            info[k] = i;
            continue;
          }
        }
        info[k] = numeric ? json::value(d) : json::value(v);
      }
      o["info"] = std::move(info);
    }
    if (!n.info_error.empty()) o["info_error"] = n.info_error;
    nodes.push_back(std::move(o));
  }
  root["nodes"] = std::move(nodes);
  root["harness"] = json::object{{"cpu_seconds", r.harness_cpu_seconds},
                                 {"max_rss_bytes", r.harness_max_rss_bytes}};
  std::string out;
  pretty(out, root, 0);
  return out + "\n";
}

std::string terminal_summary(const RunReport& r, bool color) {
  auto paint = [&](const std::string& text, const char* code) {
    return color ? fmt::format("{}{}{}", code, text, kReset) : text;
  };
  std::string out;
  out += paint(fmt::format("faultline run {} (seed {})", r.plan, r.seed), color ? kBold : "");
  out += fmt::format(": {} workload, {:.1f}s, {} ops recorded\n", r.workload, r.elapsed_seconds,
                     r.history_ops);
  size_t phase_w = 12;  // "final-reads", or "<workload>/final-reads" with several workloads
  for (const auto& p : r.phases) phase_w = std::max(phase_w, p.name.size());
  for (const auto& p : r.phases) {
    out += fmt::format(
        "  {:<{}} {:>9.0f} ops/s  ok {:<8} fail {:<6} info {:<6} late {:<6} p50 {:.2f}ms  p99 "
        "{:.2f}ms  max {:.2f}ms\n",
        p.name, phase_w, p.ops_per_sec, p.ok, p.fail, p.info, p.late, p.latency.p50_ms,
        p.latency.p99_ms, p.latency.max_ms);
  }
  // With several workloads each check's line names the one it judged ("linearizable @reg").
  const bool several = std::any_of(r.checks.begin(), r.checks.end(), [&](const auto& c) {
    return c.workload != r.checks.front().workload;
  });
  auto check_name = [&](const CheckOutcome& c) {
    std::string name = c.model.empty() ? c.kind : fmt::format("{}({})", c.kind, c.model);
    if (several) name += c.workload.empty() ? std::string(" @all") : " @" + c.workload;
    return name;
  };
  size_t name_w = 5;
  for (const auto& c : r.checks) name_w = std::max(name_w, check_name(c).size());
  out += fmt::format("  {:<{}}  {:<8}  {}\n", "CHECK", name_w, "VERDICT", "DETAILS");
  for (const auto& c : r.checks) {
    std::string name = check_name(c);
    std::string verdict = fmt::format("{:<8}", c.verdict);
    out += fmt::format("  {:<{}}  {}  {}\n", name, name_w, paint(verdict, verdict_colour(c.verdict)),
                       c.summary);
  }
  std::string overall = r.verdict == "error" ? fmt::format("error: {}", r.error) : r.verdict;
  out += fmt::format("Result: {} (exit {}); run directory {}\n",
                     paint(overall, verdict_colour(r.verdict)), r.exit_code, r.run_dir);
  return out;
}

}  // namespace fl::report
