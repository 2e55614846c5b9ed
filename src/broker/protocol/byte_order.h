// Kafka's wire and batch formats are big-endian. These read and write fixed-width integers at a
// byte pointer without alignment assumptions. Bounds are the caller's job.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace strand::protocol {

template <typename U>
constexpr U byte_swap(U raw) {
  if constexpr (sizeof(U) == 2) return __builtin_bswap16(raw);
  if constexpr (sizeof(U) == 4) return __builtin_bswap32(raw);
  if constexpr (sizeof(U) == 8) return __builtin_bswap64(raw);
  return raw;
}

template <typename T>
inline T load_be(const std::byte* p) {
  static_assert(std::is_integral_v<T>);
  std::make_unsigned_t<T> raw;
  std::memcpy(&raw, p, sizeof(raw));
  if constexpr (std::endian::native == std::endian::little && sizeof(T) > 1) {
    raw = byte_swap(raw);
  }
  return static_cast<T>(raw);
}

template <typename T>
inline void store_be(std::byte* p, T value) {
  static_assert(std::is_integral_v<T>);
  auto raw = static_cast<std::make_unsigned_t<T>>(value);
  if constexpr (std::endian::native == std::endian::little && sizeof(T) > 1) {
    raw = byte_swap(raw);
  }
  std::memcpy(p, &raw, sizeof(raw));
}

}  // namespace strand::protocol
