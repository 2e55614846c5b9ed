// Key -> partition exactly as the Java client's default partitioner places keyed records, so that
// records produced through Strand's client land where every other Kafka client expects them.
#pragma once

#include <cstdint>
#include <span>

namespace strand::client {

// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): seed 0x9747b28c, 4-byte
// little-endian blocks, Kafka's tail handling. Returns the same 32 bits Java does.
std::uint32_t murmur2(std::span<const std::byte> data);

// (murmur2(key) & 0x7fffffff) % partitions_count. REQUIRES: partitions_count > 0.
std::int32_t partition_for_key(std::span<const std::byte> key, std::int32_t partitions_count);

}  // namespace strand::client
