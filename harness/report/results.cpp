#include "harness/report/results.h"

#include "common/file_io.h"

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

// A text value as a JSON number when it is one ("42", "0.5"), else as a string.
json::value scalar_json(const std::string& v) {
  double d = 0;
  auto res = std::from_chars(v.data(), v.data() + v.size(), d);
  const bool numeric =
      !v.empty() && res.ec == std::errc() && res.ptr == v.data() + v.size() && std::isfinite(d);
  if (numeric && v.find_first_of(".eE") == std::string::npos) {
    int64_t i = 0;
    auto ri = std::from_chars(v.data(), v.data() + v.size(), i);
    if (ri.ec == std::errc() && ri.ptr == v.data() + v.size()) return i;
  }
  return numeric ? json::value(d) : json::value(v);
}

json::object pairs_json(const std::vector<std::pair<std::string, std::string>>& pairs) {
  json::object o;
  for (const auto& [k, v] : pairs) o[k] = scalar_json(v);
  return o;
}

json::array strings_json(const std::vector<std::string>& v) {
  json::array out;
  for (const auto& s : v) out.emplace_back(s);
  return out;
}

double share(int64_t n, int64_t total) {
  return total > 0 ? static_cast<double>(n) / static_cast<double>(total) : 0.0;
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

double PhaseMetrics::error_ratio() const {
  return share(fail - declined + info, ok + fail + info);
}
double PhaseMetrics::fail_ratio() const { return share(fail - declined, ok + fail + info); }
double PhaseMetrics::info_ratio() const { return share(info, ok + fail + info); }

std::string replay_command(const RunReport& r) {
  return fmt::format("faultline run {}/plan.toml", r.run_dir);
}

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
  root["replay"] = replay_command(r);
  json::object versions{{"faultline", r.versions.faultline},
                        {"compiler", r.versions.compiler},
                        {"boost", r.versions.boost}};
  json::object node_versions;
  for (const auto& [id, v] : r.versions.nodes) node_versions[id] = v;
  versions["nodes"] = std::move(node_versions);
  if (!r.versions.test_delay.empty()) versions["test_delay"] = r.versions.test_delay;
  root["versions"] = std::move(versions);
  json::array groups;
  for (const auto& g : r.cluster.groups) {
    groups.push_back(json::object{{"kind", g.kind},
                                  {"name", g.name},
                                  {"nodes", g.nodes},
                                  {"settings", pairs_json(g.settings)}});
  }
  root["cluster"] = json::object{{"network", r.cluster.network},
                                 {"groups", std::move(groups)},
                                 {"external", strings_json(r.cluster.external)},
                                 {"node_count", r.nodes.size()}};
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
                                  {"declined", p.declined},
                                  {"info", p.info},
                                  {"late", p.late},
                                  {"ops_per_sec", p.ops_per_sec},
                                  {"error_ratio", p.error_ratio()},
                                  {"fail_ratio", p.fail_ratio()},
                                  {"info_ratio", p.info_ratio()},
                                  {"latency", latency_json(p.latency)}});
  }
  root["phases"] = std::move(phases);
  json::array shards;
  for (const auto& sh : r.shards) {
    shards.push_back(json::object{{"shard", sh.shard},
                                  {"ok", sh.ok},
                                  {"fail", sh.fail},
                                  {"info", sh.info},
                                  {"ops_per_sec", sh.ops_per_sec},
                                  {"p50_ms", sh.p50_ms},
                                  {"p99_ms", sh.p99_ms}});
  }
  root["shards"] = std::move(shards);
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
  json::array gates;
  for (const auto& g : r.gates) {
    gates.push_back(json::object{{"gate", g.text},
                                 {"metric", g.metric},
                                 {"limit", g.limit},
                                 {"value", std::isfinite(g.value) ? json::value(g.value) : nullptr},
                                 {"passed", g.passed},
                                 {"summary", g.summary}});
  }
  root["gates"] = std::move(gates);
  json::array nodes;
  for (const auto& n : r.nodes) {
    json::object o{{"id", n.id}, {"kind", n.kind}, {"pid", n.pid}, {"address", n.address}};
    if (!n.group.empty()) o["group"] = n.group;
    if (n.shard >= 0) o["shard"] = n.shard;
    if (!n.info.empty()) {
      // Numbers as numbers, so that scripts (and the stat checker's readers) need not parse.
      o["info"] = pairs_json(n.info);
    }
    if (!n.info_error.empty()) o["info_error"] = n.info_error;
    nodes.push_back(std::move(o));
  }
  root["nodes"] = std::move(nodes);
  json::array faults;
  for (const auto& f : r.faults) {
    json::object o{{"fault", f.index >= 0 ? json::value(f.index) : nullptr},
                   {"action", f.action},
                   {"target", f.target},
                   {"nodes", strings_json(f.nodes)},
                   {"start_ns", f.start_ns},
                   {"end_ns", f.end_ns ? json::value(*f.end_ns) : nullptr},
                   {"source", f.source},
                   {"detail", f.detail}};
    if (!f.cuts.empty()) {
      json::array cuts;
      for (const auto& [from, to] : f.cuts) cuts.push_back(json::array{json::string(from), json::string(to)});
      o["cuts"] = std::move(cuts);
    }
    faults.push_back(std::move(o));
  }
  root["faults"] = std::move(faults);
  root["harness"] = json::object{{"cpu_seconds", r.harness_cpu_seconds},
                                 {"max_rss_bytes", r.harness_max_rss_bytes}};
  std::string out;
  pretty(out, root, 0);
  return out + "\n";
}

namespace {

// A JSON scalar as the text it was written from (scalar_json's inverse).
std::string text_of(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_double()) return fmt::format("{}", v.as_double());
  return json::serialize(v);
}

// Readers for read_results: a missing key reads as the default, a key of the wrong type is an
// error naming it.
struct Reader {
  const std::filesystem::path& file;
  std::string error;

  const json::value* at(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    return it == o.end() || it->value().is_null() ? nullptr : &it->value();
  }
  void wrong(std::string_view key, std::string_view want) {
    if (error.empty()) error = fmt::format("{}: '{}' is not {}", file.string(), key, want);
  }
  std::string str(const json::object& o, std::string_view key) {
    const auto* v = at(o, key);
    if (!v) return {};
    if (!v->is_string()) {
      wrong(key, "a string");
      return {};
    }
    return std::string(v->as_string());
  }
  double num(const json::object& o, std::string_view key) {
    const auto* v = at(o, key);
    if (!v) return 0;
    if (v->is_double()) return v->as_double();
    if (v->is_int64()) return static_cast<double>(v->as_int64());
    if (v->is_uint64()) return static_cast<double>(v->as_uint64());
    wrong(key, "a number");
    return 0;
  }
  int64_t integer(const json::object& o, std::string_view key) {
    if (const auto* v = at(o, key); v && v->is_int64()) return v->as_int64();
    return static_cast<int64_t>(num(o, key));
  }
  const json::object& obj(const json::object& o, std::string_view key) {
    static const json::object empty;
    const auto* v = at(o, key);
    if (!v) return empty;
    if (!v->is_object()) {
      wrong(key, "an object");
      return empty;
    }
    return v->as_object();
  }
  const json::array& arr(const json::object& o, std::string_view key) {
    static const json::array empty;
    const auto* v = at(o, key);
    if (!v) return empty;
    if (!v->is_array()) {
      wrong(key, "an array");
      return empty;
    }
    return v->as_array();
  }
  // Each element of an array of objects.
  template <class F>
  void each(const json::object& o, std::string_view key, F f) {
    for (const auto& e : arr(o, key)) {
      if (!e.is_object()) {
        wrong(key, "an array of objects");
        return;
      }
      f(e.as_object());
    }
  }
};

}  // namespace

result<RunReport> read_results(const std::filesystem::path& file) {
  auto text = common::read_whole_file(file);
  if (!text) return text.error();
  boost::system::error_code ec;
  auto root = json::parse(*text, ec);
  if (ec || !root.is_object()) {
    return Error(errc::parse_error,
                 fmt::format("{}: not a results.json object{}", file.string(),
                             ec ? ": " + ec.message() : std::string()));
  }
  const auto& o = root.as_object();
  Reader rd{file, {}};
  RunReport r;
  r.faultline_version = rd.str(o, "faultline_version");
  r.plan = rd.str(o, "plan");
  r.plan_file = rd.str(o, "plan_file");
  r.seed = static_cast<uint64_t>(rd.num(o, "seed"));
  if (const auto* s = rd.at(o, "seed"); s && s->is_uint64()) r.seed = s->as_uint64();
  r.run_dir = rd.str(o, "run_dir");
  r.started_at = rd.str(o, "started_at");
  r.verdict = rd.str(o, "verdict");
  r.exit_code = static_cast<int>(rd.integer(o, "exit_code"));
  r.error = rd.str(o, "error");
  const auto& vs = rd.obj(o, "versions");
  r.versions.faultline = rd.str(vs, "faultline");
  r.versions.compiler = rd.str(vs, "compiler");
  r.versions.boost = rd.str(vs, "boost");
  r.versions.test_delay = rd.str(vs, "test_delay");
  for (const auto& [id, v] : rd.obj(vs, "nodes")) {
    r.versions.nodes.emplace_back(std::string(id), text_of(v));
  }
  const auto& cl = rd.obj(o, "cluster");
  r.cluster.network = rd.str(cl, "network");
  rd.each(cl, "groups", [&](const json::object& g) {
    ClusterSummary::Group out;
    out.kind = rd.str(g, "kind");
    out.name = rd.str(g, "name");
    out.nodes = static_cast<int>(rd.integer(g, "nodes"));
    for (const auto& [k, v] : rd.obj(g, "settings")) {
      out.settings.emplace_back(std::string(k), text_of(v));
    }
    r.cluster.groups.push_back(std::move(out));
  });
  for (const auto& e : rd.arr(cl, "external")) {
    if (e.is_string()) r.cluster.external.emplace_back(e.as_string());
  }
  const auto& w = rd.obj(o, "workload");
  r.workload = rd.str(w, "kind");
  r.mode = rd.str(w, "mode");
  r.target_rate = rd.num(w, "target_rate");
  r.concurrency = static_cast<int>(rd.integer(w, "concurrency"));
  r.planned_seconds = rd.num(w, "planned_seconds");
  r.elapsed_seconds = rd.num(w, "elapsed_seconds");
  r.history_ops = rd.integer(w, "history_ops");
  rd.each(o, "phases", [&](const json::object& p) {
    PhaseMetrics m;
    m.name = rd.str(p, "name");
    m.ok = rd.integer(p, "ok");
    m.fail = rd.integer(p, "fail");
    m.declined = rd.integer(p, "declined");
    m.info = rd.integer(p, "info");
    m.late = rd.integer(p, "late");
    m.ops_per_sec = rd.num(p, "ops_per_sec");
    const auto& l = rd.obj(p, "latency");
    m.latency = {rd.num(l, "p50_ms"), rd.num(l, "p90_ms"), rd.num(l, "p99_ms"),
                 rd.num(l, "p999_ms"), rd.num(l, "max_ms")};
    r.phases.push_back(std::move(m));
  });
  rd.each(o, "shards", [&](const json::object& sh) {
    ShardMetrics m;
    m.shard = static_cast<int>(rd.integer(sh, "shard"));
    m.ok = rd.integer(sh, "ok");
    m.fail = rd.integer(sh, "fail");
    m.info = rd.integer(sh, "info");
    m.ops_per_sec = rd.num(sh, "ops_per_sec");
    m.p50_ms = rd.num(sh, "p50_ms");
    m.p99_ms = rd.num(sh, "p99_ms");
    r.shards.push_back(m);
  });
  rd.each(o, "faults", [&](const json::object& f) {
    FaultWindow fw;
    fw.index = rd.at(f, "fault") ? static_cast<int>(rd.integer(f, "fault")) : -1;
    fw.action = rd.str(f, "action");
    fw.target = rd.str(f, "target");
    for (const auto& n : rd.arr(f, "nodes")) {
      if (n.is_string()) fw.nodes.emplace_back(n.as_string());
    }
    fw.start_ns = rd.integer(f, "start_ns");
    if (rd.at(f, "end_ns")) fw.end_ns = rd.integer(f, "end_ns");
    fw.source = rd.str(f, "source");
    fw.detail = rd.str(f, "detail");
    for (const auto& c : rd.arr(f, "cuts")) {
      if (c.is_array() && c.as_array().size() == 2 && c.as_array()[0].is_string() &&
          c.as_array()[1].is_string()) {
        fw.cuts.emplace_back(c.as_array()[0].as_string(), c.as_array()[1].as_string());
      }
    }
    r.faults.push_back(std::move(fw));
  });
  rd.each(o, "checks", [&](const json::object& c) {
    CheckOutcome out;
    out.kind = rd.str(c, "kind");
    out.model = rd.str(c, "model");
    out.verdict = rd.str(c, "verdict");
    out.summary = rd.str(c, "summary");
    out.seconds = rd.num(c, "seconds");
    out.workload = rd.str(c, "workload");
    if (const auto* d = rd.at(c, "details")) out.details_json = json::serialize(*d);
    r.checks.push_back(std::move(out));
  });
  rd.each(o, "gates", [&](const json::object& g) {
    GateOutcome out;
    out.text = rd.str(g, "gate");
    out.metric = rd.str(g, "metric");
    out.limit = rd.num(g, "limit");
    out.value = rd.at(g, "value") ? rd.num(g, "value") : std::nan("");
    if (const auto* p = rd.at(g, "passed"); p && p->is_bool()) out.passed = p->as_bool();
    out.summary = rd.str(g, "summary");
    r.gates.push_back(std::move(out));
  });
  rd.each(o, "nodes", [&](const json::object& n) {
    NodeInfo out;
    out.id = rd.str(n, "id");
    out.kind = rd.str(n, "kind");
    out.address = rd.str(n, "address");
    out.pid = static_cast<int>(rd.integer(n, "pid"));
    out.group = rd.str(n, "group");
    out.shard = rd.at(n, "shard") ? static_cast<int>(rd.integer(n, "shard")) : -1;
    for (const auto& [k, v] : rd.obj(n, "info")) out.info.emplace_back(std::string(k), text_of(v));
    out.info_error = rd.str(n, "info_error");
    r.nodes.push_back(std::move(out));
  });
  const auto& h = rd.obj(o, "harness");
  r.harness_cpu_seconds = rd.num(h, "cpu_seconds");
  r.harness_max_rss_bytes = rd.integer(h, "max_rss_bytes");
  if (!rd.error.empty()) return Error(errc::parse_error, rd.error);
  return r;
}

std::optional<double> metric_value(const RunReport& r, plan::GateMetric m,
                                   const std::string& workload) {
  const std::string wanted = workload.empty() ? std::string() : workload + "/main";
  double throughput = 0, worst = 0;
  int64_t ok = 0, fail = 0, info = 0;  // fail: not counting declined operations
  bool found = false;
  for (const auto& p : r.phases) {
    const bool main = p.name == "main" || p.name.ends_with("/main");
    if (!(wanted.empty() ? main : p.name == wanted)) continue;
    found = true;
    // Served operations per second: ok and declined (a fail fast, -CLUSTERDOWN say, is not
    // throughput).
    const int64_t completed = p.ok + p.fail + p.info;
    if (completed > 0) {
      throughput += p.ops_per_sec * static_cast<double>(p.ok + p.declined) /
                    static_cast<double>(completed);
    }
    ok += p.ok + p.declined;
    fail += p.fail - p.declined;
    info += p.info;
    const auto& l = p.latency;
    switch (m) {
      case plan::GateMetric::p50: worst = std::max(worst, l.p50_ms); break;
      case plan::GateMetric::p90: worst = std::max(worst, l.p90_ms); break;
      case plan::GateMetric::p99: worst = std::max(worst, l.p99_ms); break;
      case plan::GateMetric::p999: worst = std::max(worst, l.p999_ms); break;
      case plan::GateMetric::max: worst = std::max(worst, l.max_ms); break;
      default: break;
    }
  }
  if (!found) return std::nullopt;
  const double total = static_cast<double>(ok + fail + info);
  auto ratio = [&](int64_t n) { return total > 0 ? static_cast<double>(n) / total : 0.0; };
  switch (m) {
    case plan::GateMetric::throughput: return throughput;
    case plan::GateMetric::error_ratio: return ratio(fail + info);
    case plan::GateMetric::fail_ratio: return ratio(fail);
    case plan::GateMetric::info_ratio: return ratio(info);
    default: return worst;
  }
}

std::string terminal_summary(const RunReport& r, bool color) {
  auto paint = [&](const std::string& text, const char* code) {
    return color ? fmt::format("{}{}{}", code, text, kReset) : text;
  };
  std::string out;
  out += paint(fmt::format("faultline run {} (seed {})", r.plan, r.seed), color ? kBold : "");
  out += fmt::format(": {} workload, {:.1f}s, {} ops recorded\n", r.workload, r.elapsed_seconds,
                     r.history_ops);
  // The headline: the main phase(s) as the gates see them.
  const auto metric = [&](plan::GateMetric m) { return metric_value(r, m).value_or(0.0); };
  if (metric_value(r, plan::GateMetric::throughput)) {
    out += "  " +
           paint(fmt::format("{:.0f} ops/s served  p50 {:.2f}ms  p99 {:.2f}ms  p999 {:.2f}ms  error "
                             "ratio {:.2f}%",
                             metric(plan::GateMetric::throughput), metric(plan::GateMetric::p50),
                             metric(plan::GateMetric::p99), metric(plan::GateMetric::p999),
                             100 * metric(plan::GateMetric::error_ratio)),
                 color ? kBold : "") +
           "\n";
  }
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
  auto gate_name = [](const GateOutcome& g) { return "gate: " + g.text; };
  size_t name_w = 5;
  for (const auto& c : r.checks) name_w = std::max(name_w, check_display_name(r, c).size());
  for (const auto& g : r.gates) name_w = std::max(name_w, gate_name(g).size());
  if (!r.checks.empty() || !r.gates.empty()) {
    out += fmt::format("  {:<{}}  {:<8}  {}\n", "CHECK", name_w, "VERDICT", "DETAILS");
  }
  for (const auto& c : r.checks) {
    std::string verdict = fmt::format("{:<8}", c.verdict);
    out += fmt::format("  {:<{}}  {}  {}\n", check_display_name(r, c), name_w,
                       paint(verdict, verdict_colour(c.verdict)), c.summary);
  }
  for (const auto& g : r.gates) {
    std::string verdict = fmt::format("{:<8}", g.passed ? "passed" : "missed");
    out += fmt::format("  {:<{}}  {}  {}\n", gate_name(g), name_w,
                       paint(verdict, verdict_colour(g.passed ? "valid" : "invalid")), g.summary);
  }
  std::string overall = r.verdict == "error" ? fmt::format("error: {}", r.error) : r.verdict;
  out += fmt::format("Result: {} (exit {}); run directory {}\n",
                     paint(overall, verdict_colour(r.verdict)), r.exit_code, r.run_dir);
  return out;
}

std::string check_display_name(const RunReport& r, const CheckOutcome& c) {
  const bool several = std::any_of(r.checks.begin(), r.checks.end(), [&](const auto& o) {
    return o.workload != r.checks.front().workload;
  });
  std::string name = c.model.empty() ? c.kind : fmt::format("{}({})", c.kind, c.model);
  if (several) name += c.workload.empty() ? std::string(" @all") : " @" + c.workload;
  return name;
}

}  // namespace fl::report
