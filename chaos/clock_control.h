// Clock faults: a node's clock moved by an offset and run at a rate. Reference nodes take it
// over RESP (`CLOCK SET <offset-ms> <rate>`, `CLOCK RESET`, `CLOCK GET`; nodes/common/clock.h)
// and use the skewed clock for leases, TTLs and timestamps; external programs started under
// libfaketime take it through their FAKETIME_TIMESTAMP_FILE.
#pragma once

#include <chrono>
#include <string_view>

#include "common/error.h"

namespace fl::chaos {

class ClockControl {
 public:
  virtual ~ClockControl() = default;
  // From now on node `id`'s clock reads real time + offset, advancing `rate` seconds per
  // second (1 = real time).
  virtual result<void> set(std::string_view id, std::chrono::nanoseconds offset, double rate) = 0;
  // Back to real time.
  virtual result<void> reset(std::string_view id) = 0;
};

}  // namespace fl::chaos
