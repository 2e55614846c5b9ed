#include "broker/protocol/codec.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <vector>

namespace strand::protocol {
namespace {

TEST(Codec, FixedIntsAreBigEndian) {
  Writer writer;
  writer.write_i16(0x0102);
  writer.write_i32(0x03040506);
  const std::vector<std::byte> expected = {std::byte{1}, std::byte{2}, std::byte{3},
                                           std::byte{4}, std::byte{5}, std::byte{6}};
  EXPECT_EQ(writer.bytes(), expected);
}

TEST(Codec, TruncationLatchesAnErrorAndStopsReading) {
  const std::vector<std::byte> bytes = {std::byte{0}, std::byte{5}, std::byte{'a'}};
  Reader reader(bytes);
  std::string text = reader.read_string();  // claims 5 bytes, has 1
  EXPECT_FALSE(reader.ok());
  EXPECT_EQ(reader.read_i32(), 0);  // later reads return zero values
  EXPECT_EQ(reader.status().error().kind, io::ErrorKind::kCorrupt);
  EXPECT_NE(reader.error_message().find("truncated"), std::string::npos);
}

TEST(Codec, AbsurdArrayLengthIsRefusedBeforeAnyAllocation) {
  Writer writer;
  writer.write_i32(2'000'000'000);
  Reader reader(writer.bytes());
  EXPECT_FALSE(reader.read_array_length(4).has_value());
  EXPECT_FALSE(reader.ok());
  Writer compact;
  compact.write_unsigned_varint(0xfffffff0);
  Reader compact_reader(compact.bytes());
  EXPECT_FALSE(compact_reader.read_compact_array_length(1).has_value());
  EXPECT_FALSE(compact_reader.ok());
}

TEST(Codec, NullsRoundTripAndRequiredNullIsAnError) {
  Writer writer;
  writer.write_nullable_string(std::nullopt);
  writer.write_compact_nullable_string(std::nullopt);
  writer.write_nullable_bytes(std::nullopt);
  writer.write_array_length(-1);
  writer.write_nullable_string(std::nullopt);
  Reader reader(writer.bytes());
  EXPECT_FALSE(reader.read_nullable_string().has_value());
  EXPECT_FALSE(reader.read_compact_nullable_string().has_value());
  EXPECT_FALSE(reader.read_nullable_bytes().has_value());
  EXPECT_FALSE(reader.read_array_length(1).has_value());
  EXPECT_TRUE(reader.ok());
  (void)reader.read_string();
  EXPECT_FALSE(reader.ok());
}

// Every primitive reads back what was written, in order, leaving nothing behind.
RC_GTEST_PROP(Codec, PrimitivesRoundTrip,
              (std::int8_t a, std::int16_t b, std::int32_t c, std::int64_t d, const std::string& s,
               const std::string& cs, std::uint32_t uv, bool flag)) {
  RC_PRE(s.size() < 0x7fff);
  Writer writer;
  writer.write_i8(a);
  writer.write_i16(b);
  writer.write_i32(c);
  writer.write_i64(d);
  writer.write_string(s);
  writer.write_compact_string(cs);
  writer.write_unsigned_varint(uv);
  writer.write_bool(flag);
  writer.write_tagged_fields({TaggedField{3, {std::byte{9}}}});
  Reader reader(writer.bytes());
  RC_ASSERT(reader.read_i8() == a);
  RC_ASSERT(reader.read_i16() == b);
  RC_ASSERT(reader.read_i32() == c);
  RC_ASSERT(reader.read_i64() == d);
  RC_ASSERT(reader.read_string() == s);
  RC_ASSERT(reader.read_compact_string() == cs);
  RC_ASSERT(reader.read_unsigned_varint() == uv);
  RC_ASSERT(reader.read_bool() == flag);
  const std::vector<TaggedField> expected_tags = {TaggedField{3, {std::byte{9}}}};
  RC_ASSERT(reader.read_tagged_fields() == expected_tags);
  RC_ASSERT(reader.ok());
  RC_ASSERT(reader.remaining() == 0u);
}

// Any byte string read as any sequence of primitives ends in values or a latched error.
RC_GTEST_PROP(Codec, ArbitraryBytesNeverCrashTheReader, (const std::vector<std::uint8_t>& raw)) {
  std::vector<std::byte> bytes(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) bytes[i] = static_cast<std::byte>(raw[i]);
  Reader reader(bytes);
  for (int i = 0; i < 20 && reader.ok(); ++i) {
    switch (i % 7) {
      case 0:
        (void)reader.read_nullable_string();
        break;
      case 1:
        (void)reader.read_compact_nullable_bytes();
        break;
      case 2:
        (void)reader.read_array_length(8);
        break;
      case 3:
        (void)reader.read_tagged_fields();
        break;
      case 4:
        (void)reader.read_varlong();
        break;
      case 5:
        (void)reader.read_compact_array_length(1);
        break;
      default:
        (void)reader.read_i64();
        break;
    }
  }
  RC_ASSERT(reader.remaining() <= bytes.size());
}

}  // namespace
}  // namespace strand::protocol
