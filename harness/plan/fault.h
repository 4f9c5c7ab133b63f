// [[fault]] targets: the selector syntax, and the nodes a selector may pick among. Roles
// (master, slave) are not known here: chaos/process_faults.h asks the nodes when a fault fires.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "harness/plan/plan.h"

namespace fl::plan {

// Parses a `target`:
//   <id>                        an instance id or a node group (which one is decided against
//                               the plan: kind instance, or group when a group has that id)
//   db:shard=<s>                every node of db shard s
//   db:shard=<s>:master         the master of shard s (asked at fault time)
//   db:shard=<s>:slave          every slave of shard s (asked at fault time)
//   region:<name>               every node of the [[network.region]] named <name>
//   client                      the harness's own connections (load, final reads)
//   random(<one of the above>)  one of the nodes it resolves to, drawn with the run's seed
// Syntax only; the error message says what is wrong.
result<Selector> parse_selector(std::string_view text);

// The instances a selector draws from, in plan order: the instance, the group's instances, or
// every node of the shard (for master and slaves too: the roles decide at fault time). Empty for
// names the plan does not have.
std::vector<const Instance*> selector_candidates(const Selector& s,
                                                 const std::vector<Instance>& instances);

// The instance ids a selector names without asking any node, in plan order, each once: the
// instance; a group's instances; every node of a shard (for master and slaves too: the roles
// decide at fault time); every member of a [[network.region]] (its selectors expanded the same
// way); {"client"} for client. random() is ignored (the candidates are returned). Empty for
// names the plan does not have.
std::vector<std::string> static_members(const Plan& plan, const Selector& s);

// The network backend a run of `plan` uses: [network] backend, or when absent proxy if a fault
// or [[network.link]] needs links (action partition or link), else direct.
NetworkBackend network_backend(const Plan& plan);

}  // namespace fl::plan
