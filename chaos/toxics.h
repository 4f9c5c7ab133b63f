// The toxics of the link proxy (chaos/link_proxy.h) as pure models: fed the current time, the
// size of each chunk read and a seeded Rng, they say whether a chunk is dropped, held or when it
// is delivered. No sockets and no clocks here, so every schedule is tested with fake time.
//
// Times are durations since an arbitrary epoch (the proxy uses steady_clock's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/rng.h"
#include "common/units.h"
#include "harness/plan/plan.h"

namespace fl::chaos {

using ToxicId = uint64_t;

// Whether a toxic applies to one connection: drawn once per connection (and per toxic) with
// probability `toxicity`. 0 never applies, 1 (or more) always does, without consuming a draw.
bool toxic_applies(const plan::Toxic& t, Rng& rng);

// One delay for the latency toxic: `latency` moved by `jitter` according to `distribution`:
//   uniform: latency + U(-jitter, +jitter)
//   normal:  latency + N(0, jitter)            (jitter is the standard deviation)
//   pareto:  latency + Lomax(shape 3, scale 2*jitter): never below latency, mean latency +
//            jitter, a long tail (p99 about latency + 7.3*jitter)
// Never negative (clamped at 0).
Duration draw_latency(const plan::Toxic& t, Rng& rng);

// The bandwidth toxic: a token bucket that fills at `bytes_per_second` up to `burst_bytes`,
// written as a virtual finishing time (GCRA) so it needs no timer of its own. Chunks leave in the
// order offered.
class TokenBucket {
 public:
  // REQUIRES: bytes_per_second > 0.
  TokenBucket(uint64_t bytes_per_second, uint64_t burst_bytes);
  // When the last byte of a chunk of `bytes` offered at `now` has passed (>= now).
  Duration release(Duration now, size_t bytes);

 private:
  double ns_per_byte_;
  Duration burst_;    // how far the bucket may run ahead of now: burst_bytes at the rate
  Duration free_at_;  // when everything offered so far has passed
  bool started_ = false;
};

// The loss toxic: a Gilbert-Elliott (two-state Markov) chain over chunks. In the bad state every
// chunk is dropped, in the good one none. The chain leaves the bad state with 1/burst per chunk,
// so bursts last `burst` chunks on average, and enters it so that the long-run share of dropped
// chunks is `probability`. A burst shorter than independent losses allow (1 / (1 - probability))
// means independent losses.
class LossModel {
 public:
  LossModel(double probability, double burst);
  // Whether the next chunk is dropped.
  bool drop(Rng& rng);

 private:
  double probability_;
  bool independent_;
  double enter_ = 0;  // P(good -> bad) per chunk
  double leave_ = 1;  // P(bad -> good) per chunk
  bool bad_ = false;
};

// What happens to one chunk read from a direction.
struct Verdict {
  enum class Kind {
    deliver,  // write it at `at` (<= now: at once), after every chunk delivered before it
    drop,     // discard it (blackhole, loss)
    hold,     // stalled: keep it and read no more until the stall is removed
  };
  Kind kind = Kind::deliver;
  Duration at{0};
};

// The toxics acting on one direction of one connection (those whose toxicity draw said yes),
// combined: blackhole and stall first, then loss, then latency, then bandwidth. reset and refuse
// act on whole connections and links and are not modelled here; slow_close only shows in
// close_delay().
class DirectionToxics {
 public:
  // `opened`: when the connection was accepted (stall's `after` counts from it).
  explicit DirectionToxics(Duration opened) : opened_(opened) {}

  void add(ToxicId id, const plan::Toxic& t);
  // False when `id` is not here.
  bool remove(ToxicId id);
  bool empty() const { return toxics_.empty(); }
  size_t size() const { return toxics_.size(); }

  // The fate of the next chunk of `bytes` read at `now`.
  Verdict on_chunk(Duration now, size_t bytes, Rng& rng);

  // Bytes read are discarded (and a close read is not passed on).
  bool blackholed() const;
  // Bytes stop flowing at `now` (a stall whose `after` has passed).
  bool stalled(Duration now) const;
  // How long a close read from this direction waits before it is passed on (slow_close).
  Duration close_delay() const;

 private:
  struct Entry {
    ToxicId id;
    plan::Toxic toxic;
    std::optional<TokenBucket> bucket;
    std::optional<LossModel> loss;
  };
  Duration opened_;
  std::vector<Entry> toxics_;
  Duration last_at_{0};  // chunks never overtake each other
};

}  // namespace fl::chaos
