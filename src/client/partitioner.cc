#include "client/partitioner.h"

#include "io/assert.h"

namespace strand::client {

std::uint32_t murmur2(std::span<const std::byte> data) {
  constexpr std::uint32_t kSeed = 0x9747b28c;
  constexpr std::uint32_t kM = 0x5bd1e995;
  constexpr int kR = 24;
  const auto length = static_cast<std::uint32_t>(data.size());
  std::uint32_t h = kSeed ^ length;
  const std::size_t blocks = data.size() / 4;
  auto byte_at = [&](std::size_t i) { return static_cast<std::uint32_t>(data[i]); };
  for (std::size_t i = 0; i < blocks; ++i) {
    const std::size_t at = i * 4;
    std::uint32_t k =
        byte_at(at) | (byte_at(at + 1) << 8) | (byte_at(at + 2) << 16) | (byte_at(at + 3) << 24);
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h *= kM;
    h ^= k;
  }
  const std::size_t tail = blocks * 4;
  switch (data.size() % 4) {
    case 3:
      h ^= byte_at(tail + 2) << 16;
      [[fallthrough]];
    case 2:
      h ^= byte_at(tail + 1) << 8;
      [[fallthrough]];
    case 1:
      h ^= byte_at(tail);
      h *= kM;
      break;
    default:
      break;
  }
  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return h;
}

std::int32_t partition_for_key(std::span<const std::byte> key, std::int32_t partitions_count) {
  STRAND_ASSERT(partitions_count > 0, "a topic has at least one partition");
  return static_cast<std::int32_t>((murmur2(key) & 0x7fffffffu) %
                                   static_cast<std::uint32_t>(partitions_count));
}

}  // namespace strand::client
