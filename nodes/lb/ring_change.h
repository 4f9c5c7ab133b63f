// How much of the key space changes owner when a consistent-hash ring's membership changes,
// computed exactly from the rings' arcs rather than estimated from sample keys.
#pragma once

#include <string>
#include <vector>

namespace fl::lb {

// The share (0..1) of the 64-bit hash space whose owner differs between a fl::HashRing of
// `before` and one of `after`, both with `vnodes` virtual nodes per member. Owners are compared
// by name. An empty ring owns nothing: going from or to an empty ring moves everything (1.0),
// unless both are empty (0.0).
double ring_moved_share(const std::vector<std::string>& before,
                        const std::vector<std::string>& after, int vnodes);

}  // namespace fl::lb
