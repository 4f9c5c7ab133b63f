#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>

#include "common/exit_codes.h"
#include "harness/cli/commands.h"
#include "harness/cli/options.h"
#include "harness/control/client.h"

namespace fl::cli {
namespace {

namespace json = boost::json;

constexpr std::string_view kUsage = R"(Usage: faultline ctl [--run DIR] [--json] COMMAND [ARGS...]

Talks to the control API of a running `faultline up` (docs/control-api.md). The run is DIR, or
else the newest run directory under ./runs whose control API answers.

Commands:
  status                        every node: kind, state, pid, port, restarts, role
  kill ID | terminate ID        SIGKILL / stop signal to a node (it stays down)
  pause ID | resume ID          SIGSTOP / SIGCONT a node's processes
  restart ID [--wipe]           stop and start a node again (--wipe: with an empty data dir)
  partition SHAPE [NODES...] [--mode drop|reject] [--to NODES...]
                                cut links: isolate, halves, random-halves, bridge,
                                majorities-ring, primaries, groups (each group one argument,
                                ids joined by commas), one-way (NODES cannot reach --to)
  slow FROM TO [--latency D] [--jitter D] [--loss P] [--bandwidth R] [--direction both|up|down]
                                degrade the links from FROM to TO (node ids or group names,
                                several joined by commas)
  heal [HANDLE]                 undo one partition or slow (its handle), or everything
  links                         the proxied links: cuts, toxics, connections, bytes
  metrics                       the Prometheus text of GET /metrics

Exit codes: 0 done, 3 refused or failed (the message says why).
)";

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

int print_status(const json::value& v) {
  const auto& nodes = v.at("nodes").as_array();
  std::vector<std::array<std::string, 7>> rows;
  rows.push_back({"ID", "KIND", "STATE", "PID", "PORT", "RESTARTS", "ROLE"});
  for (const auto& n : nodes) {
    const auto& o = n.as_object();
    std::string state(o.at("state").as_string());
    if (const auto* sig = o.if_contains("exit_signal"); sig && state == "exited") {
      state += fmt::format(" (signal {})", sig->as_int64());
    } else if (const auto* code = o.if_contains("exit_code"); code && state == "exited") {
      state += fmt::format(" (code {})", code->as_int64());
    }
    const auto* role = o.if_contains("role");
    rows.push_back({std::string(o.at("id").as_string()), std::string(o.at("kind").as_string()),
                    state, fmt::format("{}", o.at("pid").as_int64()),
                    fmt::format("{}", o.at("port").as_int64()),
                    fmt::format("{}", o.at("restarts").as_int64()),
                    role && role->is_string() ? std::string(role->as_string()) : ""});
  }
  std::array<size_t, 7> w{};
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  }
  for (const auto& r : rows) {
    fmt::print("{:<{}}  {:<{}}  {:<{}}  {:>{}}  {:>{}}  {:>{}}  {}\n", r[0], w[0], r[1], w[1], r[2],
               w[2], r[3], w[3], r[4], w[4], r[5], w[5], r[6]);
  }
  return kExitOk;
}

int print_links(const json::value& v) {
  const auto& links = v.at("links").as_array();
  fmt::print("backend {}, {} link{}\n", std::string_view(v.at("backend").as_string()), links.size(),
             links.size() == 1 ? "" : "s");
  fmt::print("{:<24} {:<24} {:<21} {:<9} {:>6} {:>6} {:>12} {:>12}\n", "FROM", "TO", "LISTEN",
             "CUT", "TOXICS", "CONNS", "BYTES UP", "BYTES DOWN");
  for (const auto& l : links) {
    const auto& o = l.as_object();
    const bool up = o.at("cut_up").as_bool(), down = o.at("cut_down").as_bool();
    fmt::print("{:<24} {:<24} {:<21} {:<9} {:>6} {:>6} {:>12} {:>12}\n",
               std::string_view(o.at("from").as_string()), std::string_view(o.at("to").as_string()),
               std::string_view(o.at("listen").as_string()),
               up && down ? "both"
               : up       ? "up"
               : down     ? "down"
                          : "-",
               o.at("toxics").to_number<int64_t>(), o.at("connections").to_number<uint64_t>(),
               o.at("bytes_up").to_number<uint64_t>(), o.at("bytes_down").to_number<uint64_t>());
  }
  return kExitOk;
}

std::string cuts_text(const json::value& v) {
  std::string out;
  const auto* cuts = v.as_object().if_contains("cuts");
  if (!cuts || !cuts->is_array()) return out;
  for (const auto& c : cuts->as_array()) {
    out += fmt::format("  {} -/-> {}\n", std::string_view(c.at(0).as_string()),
                       std::string_view(c.at(1).as_string()));
  }
  return out;
}

}  // namespace

int ctl_main(int argc, char** argv) {
  po::options_description options("Options");
  options.add_options()("run", po::value<std::string>(),
                        "the run directory of the `faultline up` (default: the newest one under "
                        "./runs that answers)")("json", "print the API's JSON as it is")(
      "command", po::value<std::string>()->required(), "status, kill, ...")(
      "args", po::value<std::vector<std::string>>()->multitoken(), "the command's arguments")(
      "mode", po::value<std::string>(), "partition: drop (default) or reject")(
      "to", po::value<std::vector<std::string>>()->multitoken(), "partition one-way: the far side")(
      "wipe", "restart: with an empty data directory")("latency", po::value<std::string>(),
                                                       "slow: added delay (\"20ms\")")(
      "jitter", po::value<std::string>(), "slow: +- this much")(
      "loss", po::value<double>(), "slow: share of chunks dropped (0..1)")(
      "bandwidth", po::value<std::string>(), "slow: bytes per second (\"1MiB\")")(
      "direction", po::value<std::string>(), "slow: both (default), up or down");
  po::positional_options_description positional;
  positional.add("command", 1).add("args", -1);
  int code = kExitOk;
  auto vm = parse_args(argc, argv, kUsage, options, positional, code);
  if (!vm) return code;
  const std::string command = (*vm)["command"].as<std::string>();
  const auto args =
      vm->count("args") ? (*vm)["args"].as<std::vector<std::string>>() : std::vector<std::string>{};
  const bool raw = vm->count("json") > 0;
  auto usage_error = [&](std::string_view msg) {
    fmt::print(stderr, "faultline ctl: {}\nRun 'faultline ctl --help' for usage.\n", msg);
    return kExitHarness;
  };
  auto nargs = [&](size_t lo, size_t hi) { return args.size() >= lo && args.size() <= hi; };

  // The request, built before any connection, so a typo fails fast.
  std::string method = "POST", target, body;
  if (command == "status") {
    if (!nargs(0, 0)) return usage_error("status takes no arguments");
    method = "GET";
    target = "/nodes";
  } else if (command == "kill" || command == "terminate" || command == "pause" ||
             command == "resume" || command == "restart") {
    if (!nargs(1, 1)) return usage_error(fmt::format("{} takes one node id", command));
    target = fmt::format("/nodes/{}/{}", args[0], command);
    if (command == "restart" && vm->count("wipe")) body = R"({"wipe":true})";
  } else if (command == "partition") {
    if (!nargs(1, 10000)) return usage_error("partition takes a shape and optionally node ids");
    json::object o{{"shape", args[0]}};
    std::vector<std::string> nodes(args.begin() + 1, args.end());
    if (args[0] == "groups") {
      json::array groups;
      for (const auto& g : nodes) groups.emplace_back(strings(split_commas(g)));
      o["groups"] = groups;
    } else if (!nodes.empty()) {
      std::vector<std::string> flat;
      for (const auto& n : nodes) {
        for (auto& x : split_commas(n)) flat.push_back(std::move(x));
      }
      o["nodes"] = strings(flat);
    }
    if (vm->count("to")) {
      std::vector<std::string> to;
      for (const auto& n : (*vm)["to"].as<std::vector<std::string>>()) {
        for (auto& x : split_commas(n)) to.push_back(std::move(x));
      }
      o["to"] = strings(to);
    }
    if (vm->count("mode")) o["mode"] = (*vm)["mode"].as<std::string>();
    target = "/partition";
    body = json::serialize(o);
  } else if (command == "slow") {
    if (!nargs(2, 2)) return usage_error("slow takes FROM and TO (node ids or group names)");
    json::object o{{"from", strings(split_commas(args[0]))},
                   {"to", strings(split_commas(args[1]))}};
    for (const char* key : {"latency", "jitter", "bandwidth", "direction"}) {
      if (vm->count(key)) o[key] = (*vm)[key].as<std::string>();
    }
    if (vm->count("loss")) o["loss"] = (*vm)["loss"].as<double>();
    target = "/slow";
    body = json::serialize(o);
  } else if (command == "heal") {
    if (!nargs(0, 1)) return usage_error("heal takes at most one handle");
    target = "/heal";
    if (!args.empty()) {
      const auto& h = args[0];
      if (h.empty() || h.find_first_not_of("0123456789") != std::string::npos) {
        return usage_error(
            fmt::format("'{}' is not a handle (a number partition or slow printed)", h));
      }
      body = fmt::format(R"({{"handle":{}}})", h);
    }
  } else if (command == "links" || command == "metrics") {
    if (!nargs(0, 0)) return usage_error(fmt::format("{} takes no arguments", command));
    method = "GET";
    target = "/" + command;
  } else {
    return usage_error(fmt::format("unknown command '{}'", command));
  }

  auto run = vm->count("run") ? control::read_run((*vm)["run"].as<std::string>())
                              : control::find_run("runs");
  if (!run) {
    fmt::print(stderr, "faultline ctl: {}\n", run.error().message);
    return kExitHarness;
  }
  auto res = control::call(*run, method, target, body);
  if (!res) {
    fmt::print(stderr, "faultline ctl: {}\n", res.error().message);
    return kExitHarness;
  }
  if (command == "metrics" && res->status == 200) {
    fmt::print("{}", res->body);
    return kExitOk;
  }
  boost::system::error_code ec;
  auto v = json::parse(res->body, ec);
  if (ec) {
    fmt::print(stderr, "faultline ctl: HTTP {} with a body that is not JSON: {}\n", res->status,
               res->body);
    return kExitHarness;
  }
  if (res->status != 200) {
    const auto* e = v.is_object() ? v.as_object().if_contains("error") : nullptr;
    fmt::print(stderr, "faultline ctl: {} ({} {} -> HTTP {})\n",
               e && e->is_string() ? std::string_view(e->as_string()) : std::string_view(res->body),
               method, target, res->status);
    if (raw) fmt::print("{}", res->body);
    return kExitHarness;
  }
  if (raw) {
    fmt::print("{}", res->body);
    return kExitOk;
  }
  if (command == "status") return print_status(v);
  if (command == "links") return print_links(v);
  if (command == "partition") {
    fmt::print("partition {} ({}), handle {}:\n{}", std::string_view(v.at("shape").as_string()),
               std::string_view(v.at("mode").as_string()), v.at("handle").to_number<uint64_t>(),
               cuts_text(v));
  } else if (command == "slow") {
    fmt::print("slowed {} -> {}, handle {}\n", args[0], args[1],
               v.at("handle").to_number<uint64_t>());
  } else if (command == "heal") {
    if (args.empty()) {
      auto names = [&](const char* key) {
        std::string out;
        for (const auto& n : v.at(key).as_array()) {
          out += (out.empty() ? "" : ", ") + std::string(n.as_string());
        }
        return out.empty() ? std::string("none") : out;
      };
      fmt::print("healed: links {}; resumed {}; restarted {}\n",
                 v.at("links").as_bool() ? "all" : "(direct network)", names("resumed"),
                 names("restarted"));
    } else {
      fmt::print("healed handle {}\n", args[0]);
    }
  } else {
    constexpr std::pair<std::string_view, std::string_view> kDone[] = {{"kill", "killed"},
                                                                       {"terminate", "terminated"},
                                                                       {"pause", "paused"},
                                                                       {"resume", "resumed"},
                                                                       {"restart", "restarted"}};
    for (const auto& [verb, done] : kDone) {
      if (verb == command) fmt::print("{} {}\n", done, args[0]);
    }
  }
  return kExitOk;
}

}  // namespace fl::cli
