#include "chaos/toxics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace fl::chaos {

using plan::Toxic;

bool toxic_applies(const Toxic& t, Rng& rng) {
  if (t.toxicity >= 1) return true;
  if (!(t.toxicity > 0)) return false;
  return rng.chance(t.toxicity);
}

namespace {

// A standard normal draw (Box-Muller; one of the pair is thrown away for simplicity).
double standard_normal(Rng& rng) {
  const double u1 = 1.0 - rng.unit();  // (0, 1]
  const double u2 = rng.unit();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

constexpr double kParetoShape = 3.0;

}  // namespace

Duration draw_latency(const Toxic& t, Rng& rng) {
  const double base = static_cast<double>(t.latency.count());
  const double jitter = static_cast<double>(t.jitter.count());
  double d = base;
  if (jitter > 0) {
    switch (t.distribution) {
      case Toxic::Distribution::uniform:
        d = base + jitter * (2.0 * rng.unit() - 1.0);
        break;
      case Toxic::Distribution::normal:
        d = base + jitter * standard_normal(rng);
        break;
      case Toxic::Distribution::pareto: {
        // Lomax (Pareto II): scale * (U^(-1/shape) - 1); mean scale / (shape - 1) = jitter.
        const double u = 1.0 - rng.unit();  // (0, 1]
        const double scale = jitter * (kParetoShape - 1.0);
        d = base + scale * (std::pow(u, -1.0 / kParetoShape) - 1.0);
        break;
      }
    }
  }
  if (!(d > 0)) return Duration{0};
  constexpr double kMax = static_cast<double>(std::numeric_limits<int64_t>::max() / 2);
  return Duration{static_cast<int64_t>(std::min(d, kMax))};
}

TokenBucket::TokenBucket(uint64_t bytes_per_second, uint64_t burst_bytes)
    : ns_per_byte_(1e9 / static_cast<double>(bytes_per_second)),
      burst_(static_cast<int64_t>(static_cast<double>(burst_bytes) * ns_per_byte_)),
      free_at_(0) {}

Duration TokenBucket::release(Duration now, size_t bytes) {
  // The bucket holds at most burst_ worth of credit: free_at_ never lags now by more than that.
  Duration start = started_ ? std::max(free_at_, now - burst_) : now - burst_;
  started_ = true;
  free_at_ = start + Duration{static_cast<int64_t>(static_cast<double>(bytes) * ns_per_byte_)};
  return std::max(free_at_, now);
}

LossModel::LossModel(double probability, double burst)
    : probability_(std::clamp(probability, 0.0, 1.0)) {
  // Independent losses have mean burst 1 / (1 - p); a shorter mean is not possible at this
  // loss ratio (or asks for no bursts at all).
  independent_ = probability_ >= 1.0 || burst <= 1.0 / (1.0 - probability_);
  if (!independent_) {
    leave_ = 1.0 / burst;
    enter_ = probability_ * leave_ / (1.0 - probability_);
  }
}

bool LossModel::drop(Rng& rng) {
  if (probability_ <= 0) return false;
  if (independent_) return rng.chance(probability_);
  bad_ = bad_ ? !rng.chance(leave_) : rng.chance(enter_);
  return bad_;
}

void DirectionToxics::add(ToxicId id, const Toxic& t) {
  Entry e{id, t, std::nullopt, std::nullopt};
  if (t.kind == Toxic::Kind::bandwidth && t.bytes_per_second > 0) {
    // 10 ms worth of credit: small writes pass at once, the rate holds over any longer span.
    e.bucket.emplace(t.bytes_per_second, std::max<uint64_t>(t.bytes_per_second / 100, 1));
  }
  if (t.kind == Toxic::Kind::loss) e.loss.emplace(t.probability, t.burst);
  toxics_.push_back(std::move(e));
}

bool DirectionToxics::remove(ToxicId id) {
  auto it =
      std::find_if(toxics_.begin(), toxics_.end(), [&](const Entry& e) { return e.id == id; });
  if (it == toxics_.end()) return false;
  toxics_.erase(it);
  return true;
}

bool DirectionToxics::blackholed() const {
  return std::any_of(toxics_.begin(), toxics_.end(),
                     [](const Entry& e) { return e.toxic.kind == Toxic::Kind::blackhole; });
}

bool DirectionToxics::stalled(Duration now) const {
  return std::any_of(toxics_.begin(), toxics_.end(), [&](const Entry& e) {
    return e.toxic.kind == Toxic::Kind::stall && now >= opened_ + e.toxic.after;
  });
}

Duration DirectionToxics::close_delay() const {
  Duration d{0};
  for (const auto& e : toxics_) {
    if (e.toxic.kind == Toxic::Kind::slow_close) d = std::max(d, e.toxic.after);
  }
  return d;
}

Verdict DirectionToxics::on_chunk(Duration now, size_t bytes, Rng& rng) {
  if (blackholed()) return {Verdict::Kind::drop, now};
  if (stalled(now)) return {Verdict::Kind::hold, now};
  bool dropped = false;
  for (auto& e : toxics_) {
    if (e.loss && e.loss->drop(rng)) dropped = true;  // every chain advances on every chunk
  }
  if (dropped) return {Verdict::Kind::drop, now};
  Duration at = now;
  for (const auto& e : toxics_) {
    if (e.toxic.kind == Toxic::Kind::latency) at += draw_latency(e.toxic, rng);
  }
  for (auto& e : toxics_) {
    if (e.bucket) at = e.bucket->release(at, bytes);
  }
  at = std::max(at, last_at_);
  last_at_ = at;
  return {Verdict::Kind::deliver, at};
}

}  // namespace fl::chaos
