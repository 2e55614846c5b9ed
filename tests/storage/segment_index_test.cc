#include "broker/storage/segment_index.h"

#include <gtest/gtest.h>

namespace strand::storage {
namespace {

TEST(SegmentIndex, SparseEntriesEveryIntervalAndFloorLookup) {
  SegmentIndex index(100);
  std::uint32_t position = 0;
  for (std::uint32_t i = 0; i < 10; ++i) {
    index.on_append(i * 2, position, 60, 1000 + i);
    position += 60;
  }
  // 60-byte batches, one entry per >= 100 bytes: batches 0, 2, 4, 6, 8.
  ASSERT_EQ(index.entries().size(), 5u);
  EXPECT_EQ(index.floor_offset(7)->relative_offset, 4u);
  EXPECT_EQ(index.floor_offset(8)->relative_offset, 8u);
  EXPECT_EQ(index.max_timestamp(), 1009);
  EXPECT_EQ(*index.first_reaching_timestamp(1003), 1u);
}

TEST(SegmentIndex, EncodeDecodeRoundTripAndCorruptionIsRefused) {
  SegmentIndex index(1);
  index.on_append(0, 0, 70, 5);
  index.on_append(3, 70, 70, 9);
  std::vector<std::byte> bytes = index.encode({9, 5, 140});
  auto decoded = SegmentIndex::decode(bytes, 1);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->first.entries().size(), 2u);
  EXPECT_EQ(decoded->second.next_offset, 5);
  EXPECT_EQ(decoded->second.log_bytes, 140u);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    std::vector<std::byte> damaged = bytes;
    damaged[i] ^= std::byte{0x40};
    EXPECT_FALSE(SegmentIndex::decode(damaged, 1).ok()) << "byte " << i;
  }
  bytes.pop_back();
  EXPECT_FALSE(SegmentIndex::decode(bytes, 1).ok());
}

}  // namespace
}  // namespace strand::storage
