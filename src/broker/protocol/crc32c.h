// CRC-32C (Castagnoli), the checksum of Kafka record batches v2. Uses the SSE4.2 instruction when
// the CPU has it and a table-driven fallback otherwise; both give identical results.
#pragma once

#include <cstdint>
#include <span>

namespace strand::protocol {

// CRC-32C of `bytes`, continuing from `crc` (pass the previous result to checksum in pieces).
std::uint32_t crc32c(std::span<const std::byte> bytes, std::uint32_t crc = 0);

// The portable implementation, exposed so tests can compare it with the hardware path.
std::uint32_t crc32c_portable(std::span<const std::byte> bytes, std::uint32_t crc = 0);

// True when crc32c() uses the SSE4.2 instruction on this machine.
bool crc32c_hardware_available();

}  // namespace strand::protocol
