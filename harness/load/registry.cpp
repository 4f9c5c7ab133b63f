// The workload kinds: one line each. A new workload is a new file plus a line here.
#include <array>

#include "harness/load/workload.h"

namespace fl::load {

extern const std::array<std::string_view, 3> kRegisterOps;
extern const std::array<std::string_view, 2> kSetOps;
extern const std::array<std::string_view, 2> kCounterOps;
extern const std::array<std::string_view, 2> kKvMixOps;
extern const std::array<std::string_view, 2> kQueueOps;
extern const std::array<std::string_view, 2> kLogOps;
std::unique_ptr<Workload> make_register_workload(const plan::WorkloadSpec& spec);
std::unique_ptr<Workload> make_set_workload(const plan::WorkloadSpec& spec);
std::unique_ptr<Workload> make_counter_workload(const plan::WorkloadSpec& spec);
std::unique_ptr<Workload> make_kv_mix_workload(const plan::WorkloadSpec& spec);
std::unique_ptr<Workload> make_queue_workload(const plan::WorkloadSpec& spec);
std::unique_ptr<Workload> make_log_workload(const plan::WorkloadSpec& spec);

std::span<const WorkloadKind> workload_kinds() {
  static const std::array<WorkloadKind, 6> kinds = {{
      {"register", kRegisterOps, &make_register_workload},
      {"set", kSetOps, &make_set_workload},
      {"counter", kCounterOps, &make_counter_workload},
      {"kv-mix", kKvMixOps, &make_kv_mix_workload},
      {"queue", kQueueOps, &make_queue_workload},
      {"log", kLogOps, &make_log_workload},
  }};
  return kinds;
}

}  // namespace fl::load
