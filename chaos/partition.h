// Partition shapes as sets of cut links. A shape is pure: the same input and generator state
// give the same cuts, which the fault schedule hands to chaos::LinkControl::cut(). Nodes not
// named in the input (load balancers, caches, the client) are never cut and reach every side.
#pragma once

#include <string>
#include <vector>

#include "chaos/link_control.h"
#include "common/error.h"
#include "common/rng.h"
#include "harness/plan/plan.h"

namespace fl::chaos {

struct PartitionInput {
  plan::PartitionShape shape = plan::PartitionShape::isolate;
  // The nodes divided, in ring/plan order (halves, random-halves, bridge, majorities-ring,
  // primaries). isolate: every node the cut-off side is cut from (members of `from` in it are
  // skipped).
  std::vector<std::string> nodes;
  // primaries: the shards' masters, each alone; the rest of `nodes` stays together.
  std::vector<std::string> primaries;
  // groups: the sides; nodes in different groups cannot reach each other.
  std::vector<std::vector<std::string>> groups;
  // isolate: the cut-off side (together). one-way: `from` cannot reach `to`.
  std::vector<std::string> from, to;
};

// The directed cuts of a shape, sorted and without duplicates or self-cuts (Cut{a, b}: what a
// sends does not reach b; a two-way cut is both pairs):
//   isolate          from <-> (nodes - from)
//   halves           the first floor(n/2) nodes <-> the rest
//   random-halves    the same after shuffling nodes with `rng`
//   bridge           nodes [0, (n-1)/2) <-> nodes ((n-1)/2, n); node (n-1)/2 reaches both
//   majorities-ring  node i hears only its floor(n/2) nearest ring neighbours (and itself): every
//                    node reaches a majority, and no two majorities are the same (Jepsen's)
//   primaries        each primary <-> every other node of nodes and primaries
//   groups           every node <-> every node of another group
//   one-way          from -> to only
// Errors (errc::invalid_argument) for inputs that cut nothing or cannot take the shape: fewer
// than 2 nodes (3 for bridge and majorities-ring), an empty side, a node in two groups.
result<std::vector<Cut>> partition_cuts(const PartitionInput& input, Rng& rng);

}  // namespace fl::chaos
