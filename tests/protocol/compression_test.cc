#include "broker/protocol/compression.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace strand::protocol {
namespace {

constexpr std::size_t kMax = 1 << 20;

std::vector<std::byte> bytes_of(std::string_view text) {
  const auto* p = reinterpret_cast<const std::byte*>(text.data());
  return {p, p + text.size()};
}

std::string text_of(const std::vector<std::byte>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

const std::string kPlain =
    "Strand speaks Kafka. Strand speaks Kafka. Strand speaks Kafka. Strand speaks Kafka. ";

// Streams written by other implementations (Python's gzip, lz4.frame, snappy and zstandard, the
// libraries Kafka clients use) of kPlain.
const std::string_view kGzip(
    "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03\x0b\x2e\x29\x4a\xcc\x4b\x51\x28\x2e\x48\x4d\xcc"
    "\x2e\x56\xf0\x4e\x4c\xcb\x4e\xd4\x53\x08\xa6\x4c\x10\x00\xe2\xc6\x31\xf5\x54\x00\x00\x00",
    44);
const std::string_view kLz4(
    "\x04\x22\x4d\x18\x68\x40\x54\x00\x00\x00\x00\x00\x00\x00\xa6\x20\x00\x00\x00\xff\x06\x53"
    "\x74\x72\x61\x6e\x64\x20\x73\x70\x65\x61\x6b\x73\x20\x4b\x61\x66\x6b\x61\x2e\x20\x15\x00"
    "\x27\x50\x66\x6b\x61\x2e\x20\x00\x00\x00\x00",
    55);
const std::string_view kSnappyRaw(
    "\x54\x50\x53\x74\x72\x61\x6e\x64\x20\x73\x70\x65\x61\x6b\x73\x20\x4b\x61\x66\x6b\x61\x2e"
    "\x20\xfa\x15\x00",
    26);
const std::string_view kZstd(
    "\x28\xb5\x2f\xfd\x20\x54\xe5\x00\x00\xa8\x53\x74\x72\x61\x6e\x64\x20\x73\x70\x65\x61\x6b"
    "\x73\x20\x4b\x61\x66\x6b\x61\x2e\x20\x01\x00\x89\xd2\x64\x02",
    37);

// The Java client's snappy framing around raw blocks: magic, version 1, compatible version 1.
std::string snappy_java(const std::vector<std::string_view>& blocks) {
  std::string out("\x82SNAPPY\0\0\0\0\x01\0\0\0\x01", 16);
  for (std::string_view block : blocks) {
    const auto n = static_cast<std::uint32_t>(block.size());
    out += static_cast<char>(n >> 24);
    out += static_cast<char>(n >> 16);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n);
    out += block;
  }
  return out;
}

TEST(Compression, ReadsStreamsOtherImplementationsWrote) {
  for (auto [codec, stream] :
       {std::pair{Compression::kGzip, kGzip}, std::pair{Compression::kLz4, kLz4},
        std::pair{Compression::kSnappy, kSnappyRaw}, std::pair{Compression::kZstd, kZstd}}) {
    io::Result<std::vector<std::byte>> plain = decompress(codec, bytes_of(stream), kMax);
    ASSERT_TRUE(plain) << compression_name(codec) << ": " << plain.error().to_string();
    EXPECT_EQ(text_of(*plain), kPlain) << compression_name(codec);
  }
}

TEST(Compression, ReadsTheJavaClientsSnappyFramingOfSeveralBlocks) {
  const std::string framed = snappy_java({kSnappyRaw, kSnappyRaw});
  io::Result<std::vector<std::byte>> plain =
      decompress(Compression::kSnappy, bytes_of(framed), kMax);
  ASSERT_TRUE(plain) << plain.error().to_string();
  EXPECT_EQ(text_of(*plain), kPlain + kPlain);
}

TEST(Compression, ReadsConcatenatedGzipMembers) {
  const std::string two = std::string(kGzip) + std::string(kGzip);
  io::Result<std::vector<std::byte>> plain = decompress(Compression::kGzip, bytes_of(two), kMax);
  ASSERT_TRUE(plain) << plain.error().to_string();
  EXPECT_EQ(text_of(*plain), kPlain + kPlain);
}

TEST(Compression, TruncatedStreamsAreCorrupt) {
  for (auto [codec, stream] :
       {std::pair{Compression::kGzip, kGzip}, std::pair{Compression::kLz4, kLz4},
        std::pair{Compression::kSnappy, kSnappyRaw}, std::pair{Compression::kZstd, kZstd}}) {
    for (std::size_t cut : {std::size_t{0}, std::size_t{1}, stream.size() / 2, stream.size() - 1}) {
      io::Result<std::vector<std::byte>> plain =
          decompress(codec, bytes_of(stream.substr(0, cut)), kMax);
      ASSERT_FALSE(plain) << compression_name(codec) << " cut at " << cut;
      EXPECT_EQ(plain.error().kind, io::ErrorKind::kCorrupt) << compression_name(codec);
    }
  }
  const std::string framed = snappy_java({kSnappyRaw});
  io::Result<std::vector<std::byte>> plain =
      decompress(Compression::kSnappy, bytes_of(framed.substr(0, framed.size() - 3)), kMax);
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().kind, io::ErrorKind::kCorrupt);
}

TEST(Compression, OutputBeyondTheLimitIsRefused) {
  const std::vector<std::byte> zeros(1 << 20, std::byte{0});
  for (Compression codec :
       {Compression::kGzip, Compression::kSnappy, Compression::kLz4, Compression::kZstd}) {
    io::Result<std::vector<std::byte>> packed = compress(codec, zeros);
    ASSERT_TRUE(packed);
    EXPECT_LT(packed->size(), zeros.size() / 10) << compression_name(codec);
    io::Result<std::vector<std::byte>> bomb = decompress(codec, *packed, zeros.size() - 1);
    ASSERT_FALSE(bomb) << compression_name(codec);
    EXPECT_EQ(bomb.error().kind, io::ErrorKind::kInvalid) << compression_name(codec);
    io::Result<std::vector<std::byte>> fits = decompress(codec, *packed, zeros.size());
    ASSERT_TRUE(fits) << compression_name(codec) << ": " << fits.error().to_string();
    EXPECT_EQ(*fits, zeros);
  }
}

TEST(Compression, NoneAndUnknownCodecsAreInvalid) {
  EXPECT_EQ(decompress(Compression::kNone, bytes_of("x"), kMax).error().kind,
            io::ErrorKind::kInvalid);
  EXPECT_EQ(decompress(static_cast<Compression>(6), bytes_of("x"), kMax).error().kind,
            io::ErrorKind::kInvalid);
  EXPECT_EQ(compress(Compression::kNone, bytes_of("x")).error().kind, io::ErrorKind::kInvalid);
}

// Whatever goes in comes back out, through every codec.
RC_GTEST_PROP(Compression, RoundTrips, (const std::string& text, std::uint8_t pick)) {
  const auto codec = static_cast<Compression>(1 + pick % 4);
  io::Result<std::vector<std::byte>> packed = compress(codec, bytes_of(text));
  RC_ASSERT(static_cast<bool>(packed));
  io::Result<std::vector<std::byte>> plain = decompress(codec, *packed, text.size());
  RC_ASSERT(static_cast<bool>(plain));
  RC_ASSERT(text_of(*plain) == text);
}

// Any bytes yield output within the limit or an error, never a crash.
RC_GTEST_PROP(Compression, RandomBytesNeverCrash, (const std::string& junk, std::uint8_t pick)) {
  const auto codec = static_cast<Compression>(1 + pick % 4);
  io::Result<std::vector<std::byte>> plain = decompress(codec, bytes_of(junk), 4096);
  if (plain) RC_ASSERT(plain->size() <= 4096u);
  // With a real stream's prefix, so the decoders get past their magic numbers.
  const std::string_view heads[] = {kGzip, kSnappyRaw, kLz4, kZstd};
  const std::string prefixed = std::string(heads[pick % 4].substr(0, 10)) + junk;
  io::Result<std::vector<std::byte>> mixed = decompress(codec, bytes_of(prefixed), 4096);
  if (mixed) RC_ASSERT(mixed->size() <= 4096u);
}

}  // namespace
}  // namespace strand::protocol
