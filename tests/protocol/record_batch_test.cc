#include "broker/protocol/record_batch.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "broker/protocol/batch_builder.h"
#include "broker/protocol/byte_order.h"

namespace strand::protocol {
namespace {

std::vector<Record> sample_records() {
  return {
      Record{"k1", "v1", {{"h", "x"}}, 1'700'000'000'000, 0},
      Record{std::nullopt, "v2", {}, 1'700'000'000'005, 0},
      Record{"k3", std::nullopt, {{"a", std::nullopt}, {"b", "2"}}, 1'699'999'999'990, 0},
  };
}

TEST(RecordBatch, BuiltBatchParsesWithItsFields) {
  std::vector<std::byte> bytes =
      build_batch(sample_records(), {.producer_id = 7, .producer_epoch = 1, .base_sequence = 10});
  io::Result<RecordBatchView> batch = RecordBatchView::parse(bytes, BatchOrigin::kClient);
  ASSERT_TRUE(batch.ok()) << batch.error().to_string();
  EXPECT_EQ(batch->records_count(), 3);
  EXPECT_EQ(batch->last_offset_delta(), 2);
  EXPECT_EQ(batch->base_timestamp(), 1'699'999'999'990);
  EXPECT_EQ(batch->max_timestamp(), 1'700'000'000'005);
  EXPECT_EQ(batch->producer_id(), 7);
  EXPECT_EQ(batch->producer_epoch(), 1);
  EXPECT_EQ(batch->base_sequence(), 10);
  EXPECT_EQ(batch->compression(), Compression::kNone);
  EXPECT_FALSE(batch->transactional());
  EXPECT_FALSE(batch->control());
  EXPECT_EQ(RecordBatchView::peek_size(bytes).value(), bytes.size());
}

TEST(RecordBatch, OffsetAndEpochRewriteKeepsCrcValid) {
  std::vector<std::byte> bytes = build_batch(sample_records());
  set_base_offset(bytes, 1000);
  set_partition_leader_epoch(bytes, 5);
  io::Result<RecordBatchView> batch = RecordBatchView::parse(bytes, BatchOrigin::kLog);
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->base_offset(), 1000);
  EXPECT_EQ(batch->last_offset(), 1002);
  EXPECT_EQ(batch->partition_leader_epoch(), 5);
  io::Result<std::vector<Record>> records = read_records(*batch);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ((*records)[2].offset, 1002);
}

void expect_corrupt(const std::vector<std::byte>& bytes, const std::string& field) {
  io::Result<RecordBatchView> batch = RecordBatchView::parse(bytes, BatchOrigin::kClient);
  ASSERT_FALSE(batch.ok()) << "expected a complaint about " << field;
  EXPECT_EQ(batch.error().kind, io::ErrorKind::kCorrupt);
  EXPECT_NE(batch.error().message.find(field), std::string::npos) << batch.error().message;
}

void reseal(std::vector<std::byte>& bytes) {
  store_be<std::uint32_t>(bytes.data() + batch_field::kCrc, compute_batch_crc(bytes));
}

// A log read as a Fetch serves it: data batches, a control batch between them, a torn tail.
TEST(RecordBatch, StripControlRecordsLeavesControlHeadersAndDataBatches) {
  std::vector<std::byte> first = build_batch(sample_records());
  set_base_offset(first, 10);
  const std::vector<Record> control_records{Record{"ck", "cv", {}, 1'700'000'000'000, 0}};
  std::vector<std::byte> control = build_batch(control_records);
  set_base_offset(control, 13);
  store_be<std::int16_t>(control.data() + batch_field::kAttributes, 0x20);
  reseal(control);
  std::vector<std::byte> second = build_batch(sample_records());
  set_base_offset(second, 14);
  std::vector<std::byte> bytes = first;
  bytes.insert(bytes.end(), control.begin(), control.end());
  bytes.insert(bytes.end(), second.begin(), second.end());
  bytes.insert(bytes.end(), second.begin(), second.begin() + 20);  // a partial batch at the end

  ASSERT_TRUE(strip_control_records(bytes));
  ASSERT_EQ(bytes.size(), first.size() + kBatchHeaderBytes + second.size() + 20);
  EXPECT_TRUE(std::equal(first.begin(), first.end(), bytes.begin()));
  std::span<const std::byte> header(bytes.data() + first.size(), kBatchHeaderBytes);
  io::Result<RecordBatchView> stripped = RecordBatchView::parse(header, BatchOrigin::kLog);
  ASSERT_TRUE(stripped.ok()) << stripped.error().to_string();
  EXPECT_TRUE(stripped->control());
  EXPECT_EQ(stripped->records_count(), 0);
  EXPECT_EQ(stripped->base_offset(), 13);
  EXPECT_EQ(stripped->last_offset(), 13);
  EXPECT_TRUE(read_records(*stripped).value().empty());
  EXPECT_TRUE(
      std::equal(second.begin(), second.end(),
                 bytes.begin() + static_cast<std::ptrdiff_t>(header.size() + first.size())));

  // Nothing left to strip: unchanged.
  const std::vector<std::byte> before = bytes;
  EXPECT_FALSE(strip_control_records(bytes));
  EXPECT_EQ(bytes, before);
  std::vector<std::byte> data_only = first;
  EXPECT_FALSE(strip_control_records(data_only));
  EXPECT_EQ(data_only, first);
}

TEST(RecordBatch, NextBatchSplitsAStreamAndStopsAtACutOrBadLength) {
  std::vector<std::byte> first = build_batch(sample_records());
  std::vector<std::byte> second = build_batch(sample_records());
  set_base_offset(second, 3);
  std::vector<std::byte> bytes = first;
  bytes.insert(bytes.end(), second.begin(), second.end());
  bytes.insert(bytes.end(), second.begin(), second.begin() + 20);  // cut short
  std::span<const std::byte> rest(bytes);

  io::Result<std::span<const std::byte>> one = next_batch(rest);
  ASSERT_TRUE(one.ok()) << one.error().to_string();
  EXPECT_EQ(one->size(), first.size());
  EXPECT_EQ(rest.size(), bytes.size() - first.size());
  io::Result<std::span<const std::byte>> two = next_batch(rest);
  ASSERT_TRUE(two.ok()) << two.error().to_string();
  EXPECT_EQ(RecordBatchView::parse(*two, BatchOrigin::kLog).value().base_offset(), 3);
  EXPECT_EQ(rest.size(), 20u);
  io::Result<std::span<const std::byte>> cut = next_batch(rest);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().kind, io::ErrorKind::kOutOfRange);
  EXPECT_EQ(rest.size(), 20u);  // unchanged

  std::vector<std::byte> bad = first;
  store_be<std::int32_t>(bad.data() + batch_field::kBatchLength, -5);
  std::span<const std::byte> bad_rest(bad);
  io::Result<std::span<const std::byte>> refused = next_batch(bad_rest);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, io::ErrorKind::kCorrupt);
  EXPECT_EQ(bad_rest.size(), bad.size());
}

TEST(RecordBatch, RefusesWrongCrcNamingIt) {
  std::vector<std::byte> bytes = build_batch(sample_records());
  bytes[kBatchHeaderBytes + 3] ^= std::byte{0x10};
  expect_corrupt(bytes, "crc");
}

TEST(RecordBatch, RefusesWrongMagicNamingIt) {
  std::vector<std::byte> bytes = build_batch(sample_records());
  bytes[batch_field::kMagic] = std::byte{1};
  expect_corrupt(bytes, "magic");
}

TEST(RecordBatch, RefusesWrongLengthNamingIt) {
  std::vector<std::byte> bytes = build_batch(sample_records());
  std::vector<std::byte> truncated(bytes.begin(), bytes.end() - 1);
  expect_corrupt(truncated, "batchLength");
  store_be<std::int32_t>(bytes.data() + batch_field::kBatchLength, 3);
  expect_corrupt(bytes, "batchLength");
  expect_corrupt(std::vector<std::byte>(bytes.begin(), bytes.begin() + 20), "header");
}

TEST(RecordBatch, RefusesRecordCountThatDisagreesNamingIt) {
  std::vector<std::byte> bytes = build_batch(sample_records());
  store_be<std::int32_t>(bytes.data() + batch_field::kRecordsCount, 4);
  reseal(bytes);  // a well-formed CRC over a wrong count: only the count check can catch it
  expect_corrupt(bytes, "recordsCount");
  store_be<std::int32_t>(bytes.data() + batch_field::kRecordsCount, -1);
  reseal(bytes);
  expect_corrupt(bytes, "recordsCount");
  store_be<std::int32_t>(bytes.data() + batch_field::kRecordsCount, 1'000'000);
  reseal(bytes);
  expect_corrupt(bytes, "recordsCount");
}

// Compressed records may take far fewer than the 7 bytes an uncompressed record needs at least.
TEST(RecordBatch, AcceptsCompressedRecordsSmallerThanTheirCount) {
  std::vector<Record> records(200, Record{std::nullopt, "same line, again and again", {}, 0, 0});
  BatchOptions options;
  options.compression = Compression::kZstd;
  std::vector<std::byte> bytes = build_batch(records, options);
  ASSERT_LT(bytes.size() - kBatchHeaderBytes, 200u * 7);
  io::Result<RecordBatchView> batch = RecordBatchView::parse(bytes, BatchOrigin::kClient);
  ASSERT_TRUE(batch) << batch.error().to_string();
  io::Result<std::vector<Record>> read = read_records(*batch);
  ASSERT_TRUE(read) << read.error().to_string();
  EXPECT_EQ(read->size(), 200u);
}

TEST(RecordBatch, RefusesUnknownAttributeBits) {
  std::vector<std::byte> bytes = build_batch(sample_records());
  store_be<std::int16_t>(bytes.data() + batch_field::kAttributes, 0x0107);
  reseal(bytes);
  expect_corrupt(bytes, "attributes");
}

std::optional<std::string> maybe_text() {
  if (*rc::gen::inRange(0, 5) == 0) return std::nullopt;
  return *rc::gen::arbitrary<std::string>();
}

// Any records survive build -> parse -> read unchanged, with dense offsets from the base.
RC_GTEST_PROP(RecordBatch, RecordsRoundTrip, ()) {
  const auto count = *rc::gen::inRange<std::size_t>(1, 20);
  std::vector<Record> records;
  for (std::size_t i = 0; i < count; ++i) {
    Record record;
    record.key = maybe_text();
    record.value = maybe_text();
    record.timestamp_ms = *rc::gen::inRange<std::int64_t>(0, 4'000'000'000'000);
    const auto headers = *rc::gen::inRange<std::size_t>(0, 3);
    for (std::size_t h = 0; h < headers; ++h) {
      record.headers.push_back({*rc::gen::arbitrary<std::string>(), maybe_text()});
    }
    records.push_back(std::move(record));
  }
  std::vector<std::byte> bytes = build_batch(records);
  const auto base = *rc::gen::inRange<std::int64_t>(0, 1'000'000'000);
  set_base_offset(bytes, base);
  io::Result<RecordBatchView> batch = RecordBatchView::parse(bytes, BatchOrigin::kClient);
  RC_ASSERT(batch.ok());
  io::Result<std::vector<Record>> read = read_records(*batch);
  RC_ASSERT(read.ok());
  for (std::size_t i = 0; i < count; ++i) records[i].offset = base + static_cast<std::int64_t>(i);
  RC_ASSERT(*read == records);
}

// Flipping any single bit covered by the CRC is always caught.
RC_GTEST_PROP(RecordBatch, AnySingleBitFlipInCrcRangeIsRefused, ()) {
  std::vector<std::byte> bytes = build_batch(sample_records());
  const auto position = *rc::gen::inRange<std::size_t>(kBatchCrcStart, bytes.size());
  const auto bit = *rc::gen::inRange(0, 8);
  bytes[position] ^= static_cast<std::byte>(1 << bit);
  RC_ASSERT(!RecordBatchView::parse(bytes, BatchOrigin::kClient).ok());
}

}  // namespace
}  // namespace strand::protocol
