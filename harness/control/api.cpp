#include "harness/control/api.h"

#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <mutex>
#include <set>

#include "chaos/partition.h"
#include "common/rng.h"
#include "common/units.h"
#include "harness/control/metrics.h"

namespace fl::control {
namespace {

namespace json = boost::json;

Response json_response(int status, const json::value& v) {
  return {status, "application/json", json::serialize(v) + "\n"};
}

Response error(int status, std::string message) {
  return json_response(status, json::object{{"error", std::move(message)}});
}

// An error with the HTTP status it maps to, for the body parsers.
struct Failure {
  int status;
  std::string message;
};

template <class T>
using parsed = std::variant<T, Failure>;

int status_of(const Error& e) {
  if (e.code == make_error_code(errc::not_found)) return 404;
  if (e.code == make_error_code(errc::invalid_argument) ||
      e.code == make_error_code(errc::unsupported)) {
    return 409;
  }
  return 500;
}

std::vector<std::string> split_path(std::string_view target) {
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < target.size()) {
    if (target[i] == '/') {
      ++i;
      continue;
    }
    size_t j = target.find('/', i);
    if (j == std::string_view::npos) j = target.size();
    parts.emplace_back(target.substr(i, j - i));
    i = j;
  }
  return parts;
}

// The body as a JSON object; an empty body is an empty object.
parsed<json::object> body_object(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object{};
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) return Failure{400, fmt::format("the body is not JSON: {}", ec.message())};
  if (!v.is_object()) return Failure{400, "the body must be a JSON object"};
  return std::move(v.as_object());
}

// Rejects members not in `known`: a misspelt key must not be silently ignored.
std::optional<Failure> unknown_keys(const json::object& o,
                                    std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : o) {
    if (std::find(known.begin(), known.end(), std::string_view(k)) == known.end()) {
      std::string names;
      for (auto n : known) names += (names.empty() ? "" : ", ") + std::string(n);
      return Failure{400, fmt::format("unknown key '{}' (known: {})", std::string_view(k), names)};
    }
  }
  return std::nullopt;
}

parsed<std::optional<std::string>> string_member(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::string>{};
  if (!v->is_string()) return Failure{400, fmt::format("'{}' must be a string", key)};
  return std::optional<std::string>(std::string(v->as_string()));
}

// A string or an array of strings.
parsed<std::vector<std::string>> strings_member(const json::object& o, std::string_view key) {
  std::vector<std::string> out;
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return out;
  if (v->is_string()) {
    out.emplace_back(v->as_string());
    return out;
  }
  if (!v->is_array())
    return Failure{400, fmt::format("'{}' must be a string or an array of strings", key)};
  for (const auto& e : v->as_array()) {
    if (!e.is_string()) return Failure{400, fmt::format("'{}' must hold strings", key)};
    out.emplace_back(e.as_string());
  }
  return out;
}

template <class Enum>
std::optional<Enum> enum_named(std::string_view name, std::initializer_list<Enum> values) {
  for (Enum e : values) {
    if (plan::to_string(e) == name) return e;
  }
  return std::nullopt;
}

template <class Enum>
std::string enum_names(std::initializer_list<Enum> values) {
  std::string out;
  for (Enum e : values) out += (out.empty() ? "" : ", ") + std::string(plan::to_string(e));
  return out;
}

constexpr auto kShapes = {plan::PartitionShape::isolate,         plan::PartitionShape::halves,
                          plan::PartitionShape::random_halves,   plan::PartitionShape::bridge,
                          plan::PartitionShape::majorities_ring, plan::PartitionShape::primaries,
                          plan::PartitionShape::groups,          plan::PartitionShape::one_way};
constexpr auto kModes = {plan::CutMode::drop, plan::CutMode::reject};
constexpr auto kDirections = {plan::Direction::both, plan::Direction::up, plan::Direction::down};

json::array string_array(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::array cut_array(const std::vector<chaos::Cut>& cuts) {
  json::array a;
  for (const auto& c : cuts) a.emplace_back(json::array{c.from.c_str(), c.to.c_str()});
  return a;
}

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Every byte of the longer string is looked at whatever the contents; only the lengths (not
  // secret: tokens have a fixed length) decide how many.
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

struct Api::Impl {
  Backend b;
  std::string expected_auth;  // "Bearer <token>"
  std::mutex mu;              // guards rng and down_by_api
  Rng rng;
  // Nodes this API killed or terminated: `POST /heal` starts those still down again.
  std::set<std::string> down_by_api;

  Impl(Backend backend, const std::string& token)
      : b(std::move(backend)), expected_auth("Bearer " + token), rng(Rng(b.seed).fork("control")) {}

  void event(std::string_view type, json::object fields) {
    fields["source"] = "control";
    b.event(type, json::serialize(fields));
  }

  Response network_conflict() const {
    return error(409, fmt::format("the run's network is {}: links cannot be cut or slowed; set "
                                  "[network] backend = \"proxy\" (or \"netns\") in the plan",
                                  b.network));
  }

  Response nodes() {
    json::array out;
    for (const auto& n : b.nodes()) {
      json::object o{{"id", n.id},       {"kind", n.kind},
                     {"group", n.group}, {"state", supervisor::to_string(n.state)},
                     {"pid", n.pid},     {"host", n.host},
                     {"port", n.port},   {"restarts", n.restarts}};
      if (n.exit_code) o["exit_code"] = *n.exit_code;
      if (n.exit_signal) o["exit_signal"] = *n.exit_signal;
      if (b.role && n.kind == "db" && n.state == supervisor::NodeState::ready) {
        if (auto r = b.role(n)) o["role"] = *r;
      }
      out.emplace_back(std::move(o));
    }
    return json_response(200, json::object{{"nodes", std::move(out)}});
  }

  Response node_verb(const std::string& id, const std::string& verb, const std::string& body) {
    auto o = body_object(body);
    if (auto* f = std::get_if<Failure>(&o)) return error(f->status, f->message);
    const auto& obj = std::get<json::object>(o);
    if (auto f = unknown_keys(obj, {"wipe"})) return error(f->status, f->message);
    bool wipe = false;
    if (const auto* w = obj.if_contains("wipe")) {
      if (!w->is_bool()) return error(400, "'wipe' must be true or false");
      if (verb != "restart") return error(400, "'wipe' applies to restart only");
      wipe = w->as_bool();
    }
    const auto all = b.nodes();
    if (std::none_of(all.begin(), all.end(), [&](const auto& n) { return n.id == id; })) {
      return error(404, fmt::format("no node '{}'", id));
    }
    chaos::ProcessControl& p = *b.process;
    result<void> r;
    const bool heal = verb == "resume";
    if (verb == "kill") {
      r = p.kill(id);
    } else if (verb == "terminate") {
      r = p.terminate(id);
    } else if (verb == "pause") {
      r = p.pause(id);
    } else if (verb == "resume") {
      r = p.resume(id);
    } else if (verb == "restart") {
      r = p.restart(id, wipe);
    } else {
      return error(
          404, fmt::format("unknown action '{}' (kill, terminate, pause, resume, restart)", verb));
    }
    if (!r) return error(status_of(r.error()), r.error().message);
    {
      std::lock_guard lock(mu);
      if (verb == "kill" || verb == "terminate") {
        down_by_api.insert(id);
      } else if (verb == "restart") {
        down_by_api.erase(id);
      }
    }
    const std::string action =
        heal ? "pause" : (verb == "restart" && wipe ? "restart-wiped" : verb);
    event(heal ? "fault.end" : "fault.start",
          json::object{{"action", action}, {"nodes", json::array{id.c_str()}}});
    return json_response(200, json::object{{"ok", true}, {"node", id}, {"action", verb}});
  }

  // The request's node names with group names expanded to their nodes; 400 for an unknown name.
  parsed<std::vector<std::string>> expand(const std::vector<std::string>& names) {
    const auto all = b.nodes();
    std::vector<std::string> out;
    for (const auto& name : names) {
      if (name == chaos::kClientNode ||
          std::any_of(all.begin(), all.end(), [&](const auto& n) { return n.id == name; })) {
        out.push_back(name);
        continue;
      }
      bool group = false;
      for (const auto& n : all) {
        if (n.group == name) {
          out.push_back(n.id);
          group = true;
        }
      }
      if (!group) return Failure{400, fmt::format("no node or group '{}'", name)};
    }
    return out;
  }

  Response partition(const std::string& body) {
    if (!b.links) return network_conflict();
    auto o = body_object(body);
    if (auto* f = std::get_if<Failure>(&o)) return error(f->status, f->message);
    const auto& obj = std::get<json::object>(o);
    if (auto f = unknown_keys(obj, {"shape", "nodes", "groups", "from", "to", "mode"})) {
      return error(f->status, f->message);
    }
    auto shape_name = string_member(obj, "shape");
    if (auto* f = std::get_if<Failure>(&shape_name)) return error(f->status, f->message);
    const auto& sn = std::get<std::optional<std::string>>(shape_name);
    if (!sn) return error(400, fmt::format("'shape' is required ({})", enum_names(kShapes)));
    auto shape = enum_named(*sn, kShapes);
    if (!shape) return error(400, fmt::format("unknown shape '{}' ({})", *sn, enum_names(kShapes)));
    plan::CutMode mode = plan::CutMode::drop;
    auto mode_name = string_member(obj, "mode");
    if (auto* f = std::get_if<Failure>(&mode_name)) return error(f->status, f->message);
    if (const auto& mn = std::get<std::optional<std::string>>(mode_name)) {
      auto m = enum_named(*mn, kModes);
      if (!m) return error(400, fmt::format("unknown mode '{}' ({})", *mn, enum_names(kModes)));
      mode = *m;
    }
    std::vector<std::string> lists[3];
    const char* list_keys[3] = {"nodes", "from", "to"};
    for (int i = 0; i < 3; ++i) {
      auto names = strings_member(obj, list_keys[i]);
      if (auto* f = std::get_if<Failure>(&names)) return error(f->status, f->message);
      auto expanded = expand(std::get<std::vector<std::string>>(names));
      if (auto* f = std::get_if<Failure>(&expanded)) return error(f->status, f->message);
      lists[i] = std::get<std::vector<std::string>>(expanded);
    }
    std::vector<std::vector<std::string>> groups;
    if (const auto* g = obj.if_contains("groups")) {
      if (!g->is_array()) return error(400, "'groups' must be an array of arrays of node ids");
      for (const auto& side : g->as_array()) {
        if (!side.is_array()) return error(400, "'groups' must be an array of arrays of node ids");
        std::vector<std::string> names;
        for (const auto& n : side.as_array()) {
          if (!n.is_string()) return error(400, "'groups' must hold node ids");
          names.emplace_back(n.as_string());
        }
        auto expanded = expand(names);
        if (auto* f = std::get_if<Failure>(&expanded)) return error(f->status, f->message);
        groups.push_back(std::get<std::vector<std::string>>(expanded));
      }
    }
    chaos::PartitionInput in;
    in.shape = *shape;
    in.groups = std::move(groups);
    in.to = lists[2];
    if (*shape == plan::PartitionShape::isolate || *shape == plan::PartitionShape::one_way) {
      // `nodes` names the cut-off side (as `from` does). isolate cuts it from every other node
      // of the cluster; the client keeps reaching it.
      in.from = lists[1].empty() ? lists[0] : lists[1];
      if (*shape == plan::PartitionShape::isolate) {
        for (const auto& n : b.nodes()) in.nodes.push_back(n.id);
      }
    } else {
      in.nodes = lists[0].empty() ? b.partition_target : lists[0];
    }
    if (*shape == plan::PartitionShape::primaries && b.primaries) {
      // Only the masters among the nodes divided (as the fault schedule does).
      const std::set<std::string> divided(in.nodes.begin(), in.nodes.end());
      for (auto& p : b.primaries()) {
        if (divided.count(p)) in.primaries.push_back(std::move(p));
      }
    }
    result<std::vector<chaos::Cut>> cuts = [&] {
      std::lock_guard lock(mu);
      return chaos::partition_cuts(in, rng);
    }();
    if (!cuts) return error(400, cuts.error().message);
    if (cuts->empty()) return error(400, "the partition cuts no link");
    auto handle = b.links->cut(*cuts, mode);
    if (!handle) return error(status_of(handle.error()), handle.error().message);
    std::set<std::string> touched;
    for (const auto& c : *cuts) {
      touched.insert(c.from);
      touched.insert(c.to);
    }
    event("fault.start", json::object{{"action", "partition"},
                                       {"shape", plan::to_string(*shape)},
                                       {"mode", plan::to_string(mode)},
                                       {"nodes", string_array({touched.begin(), touched.end()})},
                                       {"cuts", cut_array(*cuts)},
                                       {"handle", *handle}});
    return json_response(200, json::object{{"handle", *handle},
                                           {"shape", plan::to_string(*shape)},
                                           {"mode", plan::to_string(mode)},
                                           {"cuts", cut_array(*cuts)}});
  }

  Response slow(const std::string& body) {
    if (!b.links) return network_conflict();
    auto o = body_object(body);
    if (auto* f = std::get_if<Failure>(&o)) return error(f->status, f->message);
    const auto& obj = std::get<json::object>(o);
    if (auto f = unknown_keys(
            obj, {"from", "to", "direction", "latency", "jitter", "loss", "bandwidth"})) {
      return error(f->status, f->message);
    }
    std::vector<std::string> ends[2];
    const char* end_keys[2] = {"from", "to"};
    for (int i = 0; i < 2; ++i) {
      auto names = strings_member(obj, end_keys[i]);
      if (auto* f = std::get_if<Failure>(&names)) return error(f->status, f->message);
      if (std::get<std::vector<std::string>>(names).empty()) {
        return error(400, fmt::format("'{}' is required: node ids or group names", end_keys[i]));
      }
      auto expanded = expand(std::get<std::vector<std::string>>(names));
      if (auto* f = std::get_if<Failure>(&expanded)) return error(f->status, f->message);
      ends[i] = std::get<std::vector<std::string>>(expanded);
    }
    plan::Direction direction = plan::Direction::both;
    auto dn = string_member(obj, "direction");
    if (auto* f = std::get_if<Failure>(&dn)) return error(f->status, f->message);
    if (const auto& d = std::get<std::optional<std::string>>(dn)) {
      auto e = enum_named(*d, kDirections);
      if (!e) {
        return error(400, fmt::format("unknown direction '{}' ({})", *d, enum_names(kDirections)));
      }
      direction = *e;
    }
    std::vector<plan::Toxic> toxics;
    // latency and jitter: one latency toxic.
    std::optional<Duration> latency, jitter;
    for (const char* key : {"latency", "jitter"}) {
      auto s = string_member(obj, key);
      if (auto* f = std::get_if<Failure>(&s)) return error(f->status, f->message);
      if (const auto& text = std::get<std::optional<std::string>>(s)) {
        auto d = parse_duration(*text);
        if (!d) return error(400, fmt::format("'{}': {}", key, d.error().message));
        (std::string_view(key) == "latency" ? latency : jitter) = *d;
      }
    }
    if (latency || jitter) {
      plan::Toxic t;
      t.kind = plan::Toxic::Kind::latency;
      t.latency = latency.value_or(Duration{0});
      t.jitter = jitter.value_or(Duration{0});
      toxics.push_back(t);
    }
    if (const auto* l = obj.if_contains("loss")) {
      if (!l->is_number()) return error(400, "'loss' must be a number between 0 and 1");
      const double p = l->to_number<double>();
      if (!(p >= 0 && p <= 1)) return error(400, "'loss' must be a number between 0 and 1");
      plan::Toxic t;
      t.kind = plan::Toxic::Kind::loss;
      t.probability = p;
      toxics.push_back(t);
    }
    auto bw = string_member(obj, "bandwidth");
    if (auto* f = std::get_if<Failure>(&bw)) return error(f->status, f->message);
    if (const auto& text = std::get<std::optional<std::string>>(bw)) {
      auto bytes = parse_size(*text);
      if (!bytes || *bytes == 0) {
        return error(400, fmt::format("'bandwidth': bytes per second such as \"1MiB\"{}",
                                      bytes ? "" : ": " + bytes.error().message));
      }
      plan::Toxic t;
      t.kind = plan::Toxic::Kind::bandwidth;
      t.bytes_per_second = *bytes;
      toxics.push_back(t);
    }
    if (toxics.empty()) return error(400, "nothing to do: give latency, jitter, loss or bandwidth");
    auto handle = b.links->degrade(ends[0], ends[1], direction, toxics);
    if (!handle) return error(status_of(handle.error()), handle.error().message);
    json::array toxic_names;
    for (const auto& t : toxics) toxic_names.emplace_back(plan::to_string(t.kind));
    event("fault.start", json::object{{"action", "link"},
                                       {"from", string_array(ends[0])},
                                       {"to", string_array(ends[1])},
                                       {"direction", plan::to_string(direction)},
                                       {"toxics", toxic_names},
                                       {"handle", *handle}});
    return json_response(200, json::object{{"handle", *handle}, {"toxics", toxic_names}});
  }

  Response heal(const std::string& body) {
    auto o = body_object(body);
    if (auto* f = std::get_if<Failure>(&o)) return error(f->status, f->message);
    const auto& obj = std::get<json::object>(o);
    if (auto f = unknown_keys(obj, {"handle"})) return error(f->status, f->message);
    if (const auto* h = obj.if_contains("handle")) {
      if (!b.links) return network_conflict();
      if (!h->is_uint64() && !(h->is_int64() && h->as_int64() >= 0)) {
        return error(400, "'handle' must be a handle a partition or slow request returned");
      }
      const auto handle = h->to_number<chaos::LinkControl::Handle>();
      if (auto r = b.links->heal(handle); !r) return error(status_of(r.error()), r.error().message);
      event("fault.end", json::object{{"action", "link"}, {"handle", handle}});
      return json_response(200, json::object{{"ok", true}, {"handle", handle}});
    }
    // Everything: every cut and degrade, every paused node, every node this API took down.
    json::array resumed, restarted, errors;
    if (b.links) b.links->heal_all();
    std::set<std::string> down;
    {
      std::lock_guard lock(mu);
      down.swap(down_by_api);
    }
    for (const auto& n : b.nodes()) {
      if (n.state == supervisor::NodeState::paused) {
        if (auto r = b.process->resume(n.id); r) {
          resumed.emplace_back(n.id);
        } else {
          errors.emplace_back(r.error().message);
        }
      } else if (down.count(n.id) && n.pid == 0) {
        if (auto r = b.process->restart(n.id, false); r) {
          restarted.emplace_back(n.id);
        } else {
          errors.emplace_back(r.error().message);
        }
      }
    }
    event("fault.end", json::object{{"action", "all"},
                                     {"links", b.links != nullptr},
                                     {"resumed", resumed},
                                     {"restarted", restarted}});
    json::object out{{"ok", errors.empty()},
                     {"links", b.links != nullptr},
                     {"resumed", resumed},
                     {"restarted", restarted}};
    if (!errors.empty()) out["errors"] = errors;
    return json_response(errors.empty() ? 200 : 500, out);
  }

  Response links() {
    if (!b.links) return network_conflict();
    json::array out;
    for (const auto& l : b.links->links()) {
      out.emplace_back(json::object{{"from", l.from},
                                    {"to", l.to},
                                    {"listen", l.listen},
                                    {"cut_up", l.cut_up},
                                    {"cut_down", l.cut_down},
                                    {"toxics", l.toxics},
                                    {"connections", l.connections},
                                    {"bytes_up", l.bytes_up},
                                    {"bytes_down", l.bytes_down}});
    }
    return json_response(200, json::object{{"backend", b.links->backend()}, {"links", out}});
  }

  Response metrics() {
    const auto nodes = b.nodes();
    std::vector<check::NodeStats> info;
    if (b.info) info = b.info(nodes);
    return {200, "text/plain; version=0.0.4; charset=utf-8", render_metrics(nodes, info)};
  }
};

Api::Api(Backend backend, std::string token)
    : impl_(std::make_unique<Impl>(std::move(backend), token)) {}
Api::~Api() = default;

Response Api::handle(const Request& req) {
  Impl& m = *impl_;
  if (!constant_time_equal(req.authorization, m.expected_auth)) {
    return error(401,
                 "missing or wrong token: send 'Authorization: Bearer <token>' with the "
                 "token in the run directory's control.token");
  }
  const auto path = split_path(req.target);
  const bool get = req.method == "GET", post = req.method == "POST";
  auto only = [&](bool ok, std::string_view method, auto&& f) -> Response {
    if (!ok) return error(405, fmt::format("{} takes {}", req.target, method));
    return f();
  };
  if (path.size() == 1 && path[0] == "nodes") return only(get, "GET", [&] { return m.nodes(); });
  if (path.size() == 3 && path[0] == "nodes") {
    return only(post, "POST", [&] { return m.node_verb(path[1], path[2], req.body); });
  }
  if (path.size() == 1) {
    const auto& p = path[0];
    if (p == "partition") return only(post, "POST", [&] { return m.partition(req.body); });
    if (p == "slow") return only(post, "POST", [&] { return m.slow(req.body); });
    if (p == "heal") return only(post, "POST", [&] { return m.heal(req.body); });
    if (p == "links") return only(get, "GET", [&] { return m.links(); });
    if (p == "metrics") return only(get, "GET", [&] { return m.metrics(); });
  }
  return error(404, fmt::format("no endpoint {} (GET /nodes, POST /nodes/<id>/<action>, POST "
                                "/partition, POST /slow, POST /heal, GET /links, GET /metrics)",
                                req.target));
}

}  // namespace fl::control
