// Monotonic time as strong types. An Instant is nanoseconds on a node's monotonic clock (its epoch
// is arbitrary and differs between nodes); a Duration is a signed span of nanoseconds. Wall time is
// a separate plain int64 of milliseconds since the Unix epoch (clock().wall_ms()), because it may
// jump and must never decide safety.
#pragma once

#include <compare>
#include <cstdint>

namespace strand::io {

class Duration {
 public:
  constexpr Duration() = default;
  static constexpr Duration ns(std::int64_t count) { return Duration(count); }
  static constexpr Duration us(std::int64_t count) { return Duration(count * 1'000); }
  static constexpr Duration ms(std::int64_t count) { return Duration(count * 1'000'000); }
  static constexpr Duration s(std::int64_t count) { return Duration(count * 1'000'000'000); }

  constexpr std::int64_t count_ns() const { return ns_; }
  constexpr std::int64_t count_us() const { return ns_ / 1'000; }
  constexpr std::int64_t count_ms() const { return ns_ / 1'000'000; }
  constexpr double seconds() const { return static_cast<double>(ns_) / 1e9; }

  friend constexpr auto operator<=>(Duration, Duration) = default;
  friend constexpr Duration operator+(Duration a, Duration b) { return Duration(a.ns_ + b.ns_); }
  friend constexpr Duration operator-(Duration a, Duration b) { return Duration(a.ns_ - b.ns_); }
  friend constexpr Duration operator*(Duration a, std::int64_t k) { return Duration(a.ns_ * k); }
  friend constexpr Duration operator/(Duration a, std::int64_t k) { return Duration(a.ns_ / k); }
  constexpr Duration& operator+=(Duration other) {
    ns_ += other.ns_;
    return *this;
  }

 private:
  constexpr explicit Duration(std::int64_t count) : ns_(count) {}
  std::int64_t ns_ = 0;
};

class Instant {
 public:
  constexpr Instant() = default;
  static constexpr Instant from_ns(std::int64_t since_epoch_ns) { return Instant(since_epoch_ns); }
  constexpr std::int64_t ns() const { return ns_; }

  friend constexpr auto operator<=>(Instant, Instant) = default;
  friend constexpr Instant operator+(Instant at, Duration d) {
    return Instant(at.ns_ + d.count_ns());
  }
  friend constexpr Instant operator-(Instant at, Duration d) {
    return Instant(at.ns_ - d.count_ns());
  }
  friend constexpr Duration operator-(Instant a, Instant b) { return Duration::ns(a.ns_ - b.ns_); }

 private:
  constexpr explicit Instant(std::int64_t since_epoch_ns) : ns_(since_epoch_ns) {}
  std::int64_t ns_ = 0;
};

}  // namespace strand::io
