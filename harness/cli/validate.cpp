#include "common/exit_codes.h"
#include "common/units.h"
#include "harness/cli/commands.h"
#include "harness/cli/options.h"
#include "harness/plan/plan.h"

#include <fmt/core.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

namespace fl::cli {
namespace {

constexpr std::string_view kUsage = R"(Usage: faultline validate PLAN...

Checks each plan and prints the topology it resolves to: every process with its kind, readiness
probe, dependencies and command. Exits 0 when every plan is valid; otherwise prints every problem
as file:line:col: message and exits 3.
)";

std::string_view probe_name(plan::ProbeKind k) {
  switch (k) {
    case plan::ProbeKind::none: return "none";
    case plan::ProbeKind::tcp: return "tcp";
    case plan::ProbeKind::resp: return "resp";
    case plan::ProbeKind::http: return "http";
    case plan::ProbeKind::log: return "log";
  }
  return "?";
}

std::string quote_arg(const std::string& a) {
  if (!a.empty() && a.find_first_of(" \t\"'") == std::string::npos) return a;
  std::string out = "\"";
  for (char c : a) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void print_topology(const std::string& path, const plan::Plan& p) {
  auto instances = p.instances();
  fmt::print("{}: plan '{}', {} node{}, seed {}, duration {}\n", path, p.name, instances.size(),
             instances.size() == 1 ? "" : "s",
             p.seed ? std::to_string(*p.seed) : std::string("drawn at start"),
             format_duration(p.duration));
  size_t id_w = 2, kind_w = 4, dep_w = 10;
  std::vector<std::string> deps;
  for (const auto& i : instances) {
    // Dependencies as the plan wrote them (a group stands for all its replicas).
    std::vector<std::string> d;
    for (const auto& spec : p.nodes) {
      if (spec.id != i.group) continue;
      for (const auto& dep : spec.depends_on) {
        d.push_back(dep.condition == plan::DependCondition::started ? dep.node + "(started)"
                                                                     : dep.node);
      }
    }
    deps.push_back(d.empty() ? "-" : fmt::format("{}", fmt::join(d, ",")));
    id_w = std::max(id_w, i.id.size());
    kind_w = std::max(kind_w, i.kind.size());
    dep_w = std::max(dep_w, deps.back().size());
  }
  fmt::print("  {:<{}}  {:<{}}  {:<5}  {:<{}}  {}\n", "ID", id_w, "KIND", kind_w, "READY",
             "DEPENDS ON", dep_w, "COMMAND");
  for (size_t n = 0; n < instances.size(); ++n) {
    const auto& i = instances[n];
    std::vector<std::string> argv;
    for (const auto& a : i.command) argv.push_back(quote_arg(a));
    fmt::print("  {:<{}}  {:<{}}  {:<5}  {:<{}}  {}\n", i.id, id_w, i.kind, kind_w,
               probe_name(i.ready.kind), deps[n], dep_w, fmt::join(argv, " "));
  }
}

}  // namespace

int validate_main(int argc, char** argv) {
  po::options_description options("Options");
  options.add_options()("plan", po::value<std::vector<std::string>>()->required(), "plan files");
  po::positional_options_description positional;
  positional.add("plan", -1);
  int code = kExitOk;
  auto vm = parse_args(argc, argv, kUsage, options, positional, code);
  if (!vm) return code;

  int exit = kExitOk;
  for (const auto& path : (*vm)["plan"].as<std::vector<std::string>>()) {
    auto loaded = plan::load_plan_file(path);
    if (!loaded.plan) {
      for (const auto& d : loaded.errors) fmt::print(stderr, "{}\n", d.str());
      exit = kExitHarness;
      continue;
    }
    print_topology(path, *loaded.plan);
  }
  return exit;
}

}  // namespace fl::cli
