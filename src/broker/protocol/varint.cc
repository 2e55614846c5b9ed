#include "broker/protocol/varint.h"

namespace strand::protocol {

void append_unsigned_varint(std::vector<std::byte>& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::byte>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::byte>(value));
}

std::optional<std::uint64_t> read_unsigned_varint(std::span<const std::byte>& in,
                                                  std::size_t bytes_max) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < bytes_max; ++i) {
    if (i >= in.size()) return std::nullopt;
    const auto byte = static_cast<std::uint8_t>(in[i]);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      in = in.subspan(i + 1);
      return value;
    }
  }
  return std::nullopt;
}

std::optional<std::int32_t> read_varint(std::span<const std::byte>& in) {
  std::optional<std::uint64_t> raw = read_unsigned_varint(in, kVarintBytesMax);
  if (!raw || *raw > 0xffffffffu) return std::nullopt;
  const auto bits = static_cast<std::uint32_t>(*raw);
  return static_cast<std::int32_t>((bits >> 1) ^ (0u - (bits & 1)));
}

std::optional<std::int64_t> read_varlong(std::span<const std::byte>& in) {
  std::optional<std::uint64_t> raw = read_unsigned_varint(in, kVarlongBytesMax);
  if (!raw) return std::nullopt;
  return static_cast<std::int64_t>((*raw >> 1) ^ (0ull - (*raw & 1)));
}

}  // namespace strand::protocol
