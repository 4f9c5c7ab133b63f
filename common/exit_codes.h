// Exit codes of every faultline command (DESIGN.md, contract 3).
#pragma once

namespace fl {

inline constexpr int kExitOk = 0;         // all checks passed
inline constexpr int kExitViolation = 1;  // an invariant was violated or a gate missed
inline constexpr int kExitUnknown = 2;    // a checker gave up within its budget
inline constexpr int kExitHarness = 3;    // bad plan, a node failed to start, internal error

}  // namespace fl
