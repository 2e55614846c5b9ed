// Kafka's zig-zag varints (protobuf style), used inside records and in flexible protocol versions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace strand::protocol {

inline constexpr std::size_t kVarintBytesMax = 5;
inline constexpr std::size_t kVarlongBytesMax = 10;

void append_unsigned_varint(std::vector<std::byte>& out, std::uint64_t value);
inline void append_varint(std::vector<std::byte>& out, std::int32_t value) {
  append_unsigned_varint(
      out, (static_cast<std::uint32_t>(value) << 1) ^ static_cast<std::uint32_t>(value >> 31));
}
inline void append_varlong(std::vector<std::byte>& out, std::int64_t value) {
  append_unsigned_varint(
      out, (static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63));
}

// Reads an unsigned varint of at most `bytes_max` bytes from the front of `in` and advances it.
// nullopt on truncation or overlong encoding.
std::optional<std::uint64_t> read_unsigned_varint(std::span<const std::byte>& in,
                                                  std::size_t bytes_max);
std::optional<std::int32_t> read_varint(std::span<const std::byte>& in);
std::optional<std::int64_t> read_varlong(std::span<const std::byte>& in);

}  // namespace strand::protocol
