#include "broker/protocol/crc32c.h"

#include <array>
#include <bit>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace strand::protocol {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the slicing tables assume little-endian");

constexpr std::uint32_t kPolynomialReflected = 0x82f63b78;

// tables[k][b]: the CRC of byte b followed by k zero bytes (slicing-by-8).
using Tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr Tables make_tables() {
  Tables tables{};
  for (std::uint32_t b = 0; b < 256; ++b) {
    std::uint32_t crc = b;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (kPolynomialReflected & (0u - (crc & 1)));
    tables[0][b] = crc;
  }
  for (std::uint32_t b = 0; b < 256; ++b) {
    for (std::size_t k = 1; k < 8; ++k) {
      const std::uint32_t previous = tables[k - 1][b];
      tables[k][b] = (previous >> 8) ^ tables[0][previous & 0xff];
    }
  }
  return tables;
}

constexpr Tables kTables = make_tables();

// Appending n zero bytes to a raw (not inverted) CRC state is linear in the state: `ZeroShift`
// tabulates that map for one n, byte by byte of the state, so it costs four lookups.
class ZeroShift {
 public:
  explicit ZeroShift(std::size_t zero_bytes) {
    // The image of each single-bit state, then every byte value as the XOR of its bits' images.
    std::array<std::uint32_t, 32> bit_images{};
    for (std::size_t bit = 0; bit < 32; ++bit) {
      std::uint32_t state = std::uint32_t{1} << bit;
      for (std::size_t i = 0; i < zero_bytes; ++i) state = (state >> 8) ^ kTables[0][state & 0xff];
      bit_images[bit] = state;
    }
    for (std::size_t k = 0; k < 4; ++k) {
      for (std::uint32_t b = 0; b < 256; ++b) {
        std::uint32_t image = 0;
        for (std::size_t bit = 0; bit < 8; ++bit) {
          if ((b >> bit) & 1) image ^= bit_images[8 * k + bit];
        }
        tables_[k][b] = image;
      }
    }
  }

  std::uint32_t operator()(std::uint32_t state) const {
    return tables_[0][state & 0xff] ^ tables_[1][(state >> 8) & 0xff] ^
           tables_[2][(state >> 16) & 0xff] ^ tables_[3][state >> 24];
  }

 private:
  std::array<std::array<std::uint32_t, 256>, 4> tables_{};
};

#if defined(__x86_64__)
// The crc32 instruction has a latency of three cycles and a throughput of one per cycle, so one
// dependency chain uses a third of it. Large inputs are cut into blocks of three equal lanes
// checksummed side by side, then joined: crc(A B C) = shift(shift(crc(A), |B|) ^ crc(B), |C|) ^
// crc(C), where lanes B and C start from zero.
constexpr std::size_t kLongLaneBytes = 8192;
constexpr std::size_t kShortLaneBytes = 256;

__attribute__((target("sse4.2"))) std::uint64_t crc32c_lanes(std::uint64_t state,
                                                             const std::byte*& p, std::size_t& left,
                                                             std::size_t lane_bytes,
                                                             const ZeroShift& shift) {
  while (left >= 3 * lane_bytes) {
    std::uint64_t a = state;
    std::uint64_t b = 0;
    std::uint64_t c = 0;
    for (std::size_t i = 0; i < lane_bytes; i += 8) {
      std::uint64_t wa;
      std::uint64_t wb;
      std::uint64_t wc;
      std::memcpy(&wa, p + i, 8);
      std::memcpy(&wb, p + lane_bytes + i, 8);
      std::memcpy(&wc, p + 2 * lane_bytes + i, 8);
      a = _mm_crc32_u64(a, wa);
      b = _mm_crc32_u64(b, wb);
      c = _mm_crc32_u64(c, wc);
    }
    const std::uint32_t ab = shift(static_cast<std::uint32_t>(a)) ^ static_cast<std::uint32_t>(b);
    state = shift(ab) ^ static_cast<std::uint32_t>(c);
    p += 3 * lane_bytes;
    left -= 3 * lane_bytes;
  }
  return state;
}

__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(std::span<const std::byte> bytes,
                                                             std::uint32_t crc) {
  static const ZeroShift long_shift(kLongLaneBytes);
  static const ZeroShift short_shift(kShortLaneBytes);
  std::uint64_t state = ~crc;
  const std::byte* p = bytes.data();
  std::size_t left = bytes.size();
  state = crc32c_lanes(state, p, left, kLongLaneBytes, long_shift);
  state = crc32c_lanes(state, p, left, kShortLaneBytes, short_shift);
  while (left >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, sizeof(word));
    state = _mm_crc32_u64(state, word);
    p += 8;
    left -= 8;
  }
  auto state32 = static_cast<std::uint32_t>(state);
  while (left > 0) {
    state32 = _mm_crc32_u8(state32, static_cast<std::uint8_t>(*p));
    p += 1;
    left -= 1;
  }
  return ~state32;
}
#endif

}  // namespace

std::uint32_t crc32c_portable(std::span<const std::byte> bytes, std::uint32_t crc) {
  std::uint32_t state = ~crc;
  const std::byte* p = bytes.data();
  std::size_t left = bytes.size();
  while (left >= 8) {
    std::uint32_t low;
    std::uint32_t high;
    std::memcpy(&low, p, 4);
    std::memcpy(&high, p + 4, 4);
    low ^= state;  // little-endian hosts only (x86_64, aarch64)
    state = kTables[7][low & 0xff] ^ kTables[6][(low >> 8) & 0xff] ^
            kTables[5][(low >> 16) & 0xff] ^ kTables[4][low >> 24] ^ kTables[3][high & 0xff] ^
            kTables[2][(high >> 8) & 0xff] ^ kTables[1][(high >> 16) & 0xff] ^
            kTables[0][high >> 24];
    p += 8;
    left -= 8;
  }
  while (left > 0) {
    state = (state >> 8) ^ kTables[0][(state ^ static_cast<std::uint8_t>(*p)) & 0xff];
    p += 1;
    left -= 1;
  }
  return ~state;
}

bool crc32c_hardware_available() {
#if defined(__x86_64__)
  static const bool available = __builtin_cpu_supports("sse4.2");
  return available;
#else
  return false;
#endif
}

std::uint32_t crc32c(std::span<const std::byte> bytes, std::uint32_t crc) {
#if defined(__x86_64__)
  if (crc32c_hardware_available()) return crc32c_sse42(bytes, crc);
#endif
  return crc32c_portable(bytes, crc);
}

}  // namespace strand::protocol
