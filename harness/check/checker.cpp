#include "harness/check/checker.h"

namespace fl::check {

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::valid:
      return "valid";
    case Verdict::invalid:
      return "invalid";
    case Verdict::unknown:
      return "unknown";
  }
  return "unknown";
}

Verdict worst(Verdict a, Verdict b) {
  // invalid outranks unknown: a definite violation is the stronger statement about a run.
  auto rank = [](Verdict v) { return v == Verdict::invalid ? 2 : v == Verdict::unknown ? 1 : 0; };
  return rank(a) >= rank(b) ? a : b;
}

}  // namespace fl::check
