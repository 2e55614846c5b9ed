// Helpers the message codec tests share: spelling expected wire layouts by hand (rather than with
// the Writer under test) and RapidCheck generators for common fields.
#pragma once

#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/protocol/codec.h"

namespace strand::protocol::test_support {

// Appends `value` big-endian in `width` bytes.
inline void put(std::vector<std::byte>& out, std::int64_t value, int width) {
  for (int shift = (width - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<std::byte>((static_cast<std::uint64_t>(value) >> shift) & 0xff));
  }
}

// A STRING: int16 length, then the bytes.
inline void put_string(std::vector<std::byte>& out, std::string_view text) {
  put(out, static_cast<std::int64_t>(text.size()), 2);
  for (char c : text) out.push_back(static_cast<std::byte>(c));
}

// BYTES: int32 length, then the bytes.
inline void put_bytes(std::vector<std::byte>& out, const std::vector<std::byte>& bytes) {
  put(out, static_cast<std::int64_t>(bytes.size()), 4);
  out.insert(out.end(), bytes.begin(), bytes.end());
}

// Bytes written out as small integers: bytes({0, 2, 'g', '1'}).
inline std::vector<std::byte> bytes(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

// Writes `value`, checks the bytes, then reads them back and checks nothing is left over.
template <typename T, typename Write, typename Read>
void expect_wire(const T& value, std::int16_t version, Write write, Read read,
                 const std::vector<std::byte>& expected) {
  Writer writer;
  write(writer, value, version);
  EXPECT_EQ(writer.bytes(), expected);
  Reader reader(expected);
  const T back = read(reader, version);
  ASSERT_TRUE(reader.ok()) << reader.error_message();
  EXPECT_EQ(reader.remaining(), 0u);
  EXPECT_TRUE(back == value);
}

inline std::vector<std::byte> to_bytes(const std::vector<std::uint8_t>& raw) {
  std::vector<std::byte> out;
  for (std::uint8_t b : raw) out.push_back(static_cast<std::byte>(b));
  return out;
}

// Zero to three elements made by `make`.
template <typename F>
auto small_vector(F make) {
  std::vector<decltype(make())> out(*rc::gen::inRange<std::size_t>(0, 4));
  for (auto& element : out) element = make();
  return out;
}

inline std::string gen_name() {
  return *rc::gen::container<std::string>(rc::gen::inRange('a', '{'));
}

inline std::optional<std::string> gen_nullable_name() {
  if (*rc::gen::inRange(0, 4) == 0) return std::nullopt;
  return gen_name();
}

inline std::int32_t gen_i32() { return *rc::gen::arbitrary<std::int32_t>(); }
inline std::int64_t gen_i64() { return *rc::gen::arbitrary<std::int64_t>(); }

}  // namespace strand::protocol::test_support
