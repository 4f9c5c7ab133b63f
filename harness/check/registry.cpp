// The checker kinds a [[check]] may name: one line per checker.
#include <fmt/core.h>

#include "harness/check/checker.h"
#include "harness/check/availability.h"
#include "harness/check/convergence.h"
#include "harness/check/counter.h"
#include "harness/check/failover.h"
#include "harness/check/linearizable.h"
#include "harness/check/log_check.h"
#include "harness/check/perf.h"
#include "harness/check/set_full.h"
#include "harness/check/staleness.h"
#include "harness/check/total_queue.h"

namespace fl::check {
namespace {

result<std::unique_ptr<Checker>> linearizable(const plan::CheckSpec& spec) {
  if (!spec.model.empty() && !is_linearizable_model(spec.model)) {
    return Error(errc::invalid_argument,
                 fmt::format("linearizable: unknown model '{}' (register, cas-register, kv, "
                             "kv-append, set, fifo-queue)",
                             spec.model));
  }
  return make_linearizable_checker(spec);
}

struct Entry {
  std::string_view kind;
  result<std::unique_ptr<Checker>> (*make)(const plan::CheckSpec&);
};

constexpr Entry kCheckers[] = {
    {"linearizable", linearizable},
    {"set-full", make_set_full_checker},
    {"counter", make_counter_checker},
    {"total-queue", make_total_queue_checker},
    {"availability", make_availability_checker},
    {"failover", make_failover_checker},
    {"perf", make_perf_checker},
    {"log", make_log_checker},
    {"staleness", make_staleness_checker},
    {"convergence", make_convergence_checker},
    {"stat", make_stat_checker},
};

}  // namespace

result<std::unique_ptr<Checker>> make_checker(const plan::CheckSpec& spec) {
  for (const auto& e : kCheckers) {
    if (e.kind == spec.kind) return e.make(spec);
  }
  std::string known;
  for (const auto& e : kCheckers) known += (known.empty() ? "" : ", ") + std::string(e.kind);
  return Error(errc::invalid_argument,
               fmt::format("unknown checker kind '{}' (known: {})", spec.kind, known));
}

std::vector<std::string_view> checker_kinds() {
  std::vector<std::string_view> out;
  for (const auto& e : kCheckers) out.push_back(e.kind);
  return out;
}

}  // namespace fl::check
