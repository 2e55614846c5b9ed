// The metadata records on the wire: FlatBuffers encoding, one-record batches, and reading them back
// out of a stored log with Raft's control batches in between.
#include "broker/cluster/metadata.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <set>

#include "broker/cluster/metadata_records_generated.h"
#include "broker/protocol/batch_builder.h"
#include "broker/protocol/record_batch.h"
#include "broker/raft/control_batch.h"

namespace strand::cluster {

namespace {

std::span<const std::byte> as_bytes(const std::vector<std::uint8_t>& v) {
  return {reinterpret_cast<const std::byte*>(v.data()), v.size()};
}

// ---- generators of valid records ----

rc::Gen<std::string> gen_name() {
  return rc::gen::nonEmpty(rc::gen::container<std::string>(rc::gen::inRange('a', 'z')));
}

rc::Gen<std::vector<raft::NodeId>> gen_replicas() {
  return rc::gen::map(rc::gen::nonEmpty(rc::gen::container<std::set<raft::NodeId>>(
                          rc::gen::inRange<raft::NodeId>(0, 64))),
                      [](const std::set<raft::NodeId>& ids) {
                        std::vector<raft::NodeId> out(ids.begin(), ids.end());
                        std::rotate(out.begin(), out.begin() + out.size() / 2, out.end());
                        return out;
                      });
}

rc::Gen<std::vector<PartitionAssignment>> gen_partitions() {
  return rc::gen::exec([] {
    const auto count = *rc::gen::inRange<std::int32_t>(0, 6);
    const auto first = *rc::gen::inRange<std::int32_t>(0, 1000);
    std::vector<PartitionAssignment> out;
    for (std::int32_t i = 0; i < count; ++i) {
      out.push_back(
          PartitionAssignment{first + i, *rc::gen::arbitrary<GroupId>(), *gen_replicas()});
    }
    return out;
  });
}

rc::Gen<MetadataRecord> gen_record() {
  auto broker = rc::gen::exec([] {
    return MetadataRecord{BrokerRegistration{
        *rc::gen::inRange<raft::NodeId>(0, 1 << 30), *rc::gen::arbitrary<std::string>(),
        *rc::gen::arbitrary<std::uint16_t>(), *rc::gen::arbitrary<std::string>(),
        *rc::gen::arbitrary<std::uint16_t>(), *rc::gen::arbitrary<std::string>(),
        *rc::gen::arbitrary<std::uint64_t>()}};
  });
  auto topic = rc::gen::exec([] {
    return MetadataRecord{TopicRecord{
        *gen_name(), *rc::gen::arbitrary<std::uint64_t>(), *rc::gen::arbitrary<std::uint64_t>(),
        *rc::gen::arbitrary<std::map<std::string, std::string>>(), *gen_partitions()}};
  });
  auto remove = rc::gen::exec([] { return MetadataRecord{RemoveTopicRecord{*gen_name()}}; });
  auto add = rc::gen::exec([] {
    return MetadataRecord{AddPartitionsRecord{*gen_name(), *gen_partitions()}};
  });
  auto leader = rc::gen::exec([] {
    return MetadataRecord{LeaderRecord{*rc::gen::arbitrary<GroupId>(),
                                       *rc::gen::inRange<raft::NodeId>(0, 1 << 30),
                                       *rc::gen::inRange<std::int32_t>(0, 1 << 30)}};
  });
  auto reassign = rc::gen::exec([] {
    return MetadataRecord{ReassignRecord{*rc::gen::arbitrary<GroupId>(), *gen_replicas()}};
  });
  auto done = rc::gen::exec([] {
    return MetadataRecord{ReassignDoneRecord{*rc::gen::arbitrary<GroupId>(), *gen_replicas(),
                                             *rc::gen::inRange<std::int32_t>(-1, 1 << 30)}};
  });
  auto fence = rc::gen::exec([] {
    return MetadataRecord{BrokerFenceRecord{*rc::gen::inRange<raft::NodeId>(0, 1 << 30),
                                            *rc::gen::arbitrary<bool>()}};
  });
  return rc::gen::oneOf(broker, topic, remove, add, leader, reassign, done, fence);
}

// ---- encode / decode ----

// Invariant: decode(encode(r)) == r for every valid record of every kind.
RC_GTEST_PROP(MetadataRecordProperty, EncodeDecodeRoundTrips, ()) {
  const MetadataRecord record = *gen_record();
  const std::vector<std::byte> bytes = encode_record(record);
  io::Result<MetadataRecord> decoded = decode_record(bytes);
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == record);
}

// Invariant: any bytes decode to kCorrupt or to a record that encodes and decodes to itself.
RC_GTEST_PROP(MetadataRecordProperty, RandomBytesNeverCrashTheDecoder, ()) {
  const auto bytes = *rc::gen::arbitrary<std::vector<std::uint8_t>>();
  io::Result<MetadataRecord> decoded = decode_record(as_bytes(bytes));
  if (!decoded) {
    RC_ASSERT(decoded.error().kind == io::ErrorKind::kCorrupt);
    return;
  }
  io::Result<MetadataRecord> again = decode_record(encode_record(*decoded));
  RC_ASSERT(again.ok());
  RC_ASSERT(*again == *decoded);
}

// Invariant: a truncated or bit-flipped encoding decodes to kCorrupt or to some valid record.
RC_GTEST_PROP(MetadataRecordProperty, DamagedEncodingsDecodeOrFailCleanly, ()) {
  std::vector<std::byte> bytes = encode_record(*gen_record());
  if (*rc::gen::arbitrary<bool>()) {
    bytes.resize(*rc::gen::inRange<std::size_t>(0, bytes.size()));
  } else {
    const auto flips = *rc::gen::inRange(1, 4);
    for (int i = 0; i < flips; ++i) {
      const auto at = *rc::gen::inRange<std::size_t>(0, bytes.size());
      bytes[at] ^= static_cast<std::byte>(1u << *rc::gen::inRange(0, 8));
    }
  }
  io::Result<MetadataRecord> decoded = decode_record(bytes);
  if (!decoded) {
    RC_ASSERT(decoded.error().kind == io::ErrorKind::kCorrupt);
    return;
  }
  io::Result<MetadataRecord> again = decode_record(encode_record(*decoded));
  RC_ASSERT(again.ok());
  RC_ASSERT(*again == *decoded);
}

void expect_corrupt(const MetadataRecord& record) {
  io::Result<MetadataRecord> decoded = decode_record(encode_record(record));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().kind, io::ErrorKind::kCorrupt) << decoded.error().message;
}

TEST(MetadataRecord, RejectsEmptyBytesAndAMissingBody) {
  io::Result<MetadataRecord> empty = decode_record({});
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().kind, io::ErrorKind::kCorrupt);
  // The smallest FlatBuffer whose root table has no fields: root offset 8, vtable of 4 bytes.
  const std::vector<std::uint8_t> no_body = {8, 0, 0, 0, 4, 0, 4, 0, 4, 0, 0, 0};
  io::Result<MetadataRecord> decoded = decode_record(as_bytes(no_body));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().kind, io::ErrorKind::kCorrupt);
}

// The verifier lets a union's type through without its table; reading it would crash.
TEST(MetadataRecord, RejectsABodyTypeWithoutItsTable) {
  flatbuffers::FlatBufferBuilder builder;
  fb::MetadataRecordBuilder record(builder);
  record.add_body_type(fb::Body::TopicRecord);
  builder.Finish(record.Finish());
  io::Result<MetadataRecord> decoded = decode_record(std::span<const std::byte>(
      reinterpret_cast<const std::byte*>(builder.GetBufferPointer()), builder.GetSize()));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().kind, io::ErrorKind::kCorrupt);
}

TEST(MetadataRecord, RejectsMissingNamesAndBadValues) {
  expect_corrupt(TopicRecord{"", 1, 2, {}, {}});
  expect_corrupt(RemoveTopicRecord{""});
  expect_corrupt(AddPartitionsRecord{"", {{0, 1, {1}}}});
  expect_corrupt(TopicRecord{"t", 1, 2, {}, {{-1, 1, {1}}}});
  expect_corrupt(TopicRecord{"t", 1, 2, {}, {{0, 1, {1, 2, 1}}}});
  expect_corrupt(TopicRecord{"t", 1, 2, {}, {{0, 1, {}}}});
  expect_corrupt(AddPartitionsRecord{"t", {{0, 1, {-3}}}});
  expect_corrupt(BrokerRegistration{-1, "h", 9092, "h", 9093, "", 1});
  expect_corrupt(LeaderRecord{5, -1, 1});
  expect_corrupt(LeaderRecord{5, 1, -2});
}

TEST(MetadataRecord, DecodesFromAMisalignedBuffer) {
  const MetadataRecord record = TopicRecord{
      "orders", 7, 8, {{"cleanup.policy", "compact"}}, {{0, 3, {1, 2, 3}}, {1, 4, {2, 3, 1}}}};
  const std::vector<std::byte> bytes = encode_record(record);
  std::vector<std::byte> shifted(bytes.size() + 1);
  std::copy(bytes.begin(), bytes.end(), shifted.begin() + 1);
  io::Result<MetadataRecord> decoded = decode_record(std::span(shifted).subspan(1));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, record);
}

// ---- batches ----

std::vector<std::byte> at_offset(std::vector<std::byte> batch, std::int64_t offset) {
  protocol::set_base_offset(batch, offset);
  return batch;
}

std::vector<std::byte> leader_change_at(std::int64_t offset) {
  raft::Entry entry;
  entry.meta = raft::EntryMeta{offset, offset, 1, raft::EntryKind::kLeaderChange};
  return raft::build_control_batch(entry, 1000);
}

void append(std::vector<std::byte>& log, const std::vector<std::byte>& batch) {
  log.insert(log.end(), batch.begin(), batch.end());
}

TEST(MetadataBatch, IsOneUncompressedRecordHoldingTheEncoding) {
  const MetadataRecord record = LeaderRecord{3, 2, 9};
  const std::vector<std::byte> batch = record_batch(record, 1234);
  io::Result<protocol::RecordBatchView> view =
      protocol::RecordBatchView::parse(batch, protocol::BatchOrigin::kClient);
  ASSERT_TRUE(view.ok()) << view.error().message;
  EXPECT_EQ(view->records_count(), 1);
  EXPECT_EQ(view->compression(), protocol::Compression::kNone);
  EXPECT_FALSE(view->control());
  io::Result<std::vector<protocol::Record>> records = protocol::read_records(*view);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].timestamp_ms, 1234);
  const std::vector<std::byte> encoded = encode_record(record);
  ASSERT_TRUE((*records)[0].value.has_value());
  EXPECT_EQ(*(*records)[0].value,
            std::string(reinterpret_cast<const char*>(encoded.data()), encoded.size()));
}

TEST(MetadataBatch, ReadsRecordsInOrderSkippingControlBatches) {
  const std::vector<MetadataRecord> records = {
      BrokerRegistration{1, "a", 9092, "a", 9093, "r1", 5},
      TopicRecord{"t", 1, 2, {{"retention.ms", "10"}}, {{0, 1, {1}}}},
      LeaderRecord{1, 1, 3},
      RemoveTopicRecord{"t"},
  };
  std::vector<std::byte> log;
  append(log, at_offset(record_batch(records[0], 1), 10));
  append(log, leader_change_at(11));
  append(log, at_offset(record_batch(records[1], 2), 12));
  append(log, at_offset(record_batch(records[2], 3), 13));
  append(log, leader_change_at(14));
  append(log, at_offset(record_batch(records[3], 4), 15));
  io::Result<std::vector<OffsetRecord>> read = read_records(log);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->size(), 4u);
  const std::int64_t offsets[] = {10, 12, 13, 15};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*read)[i].offset, offsets[i]);
    EXPECT_EQ((*read)[i].record, records[i]);
  }
}

TEST(MetadataBatch, ReadsNothingFromNothing) {
  io::Result<std::vector<OffsetRecord>> read = read_records({});
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read->empty());
}

TEST(MetadataBatch, ReportsTheOffsetOfADamagedBatch) {
  std::vector<std::byte> log;
  append(log, at_offset(record_batch(LeaderRecord{1, 1, 1}, 1), 0));
  std::vector<std::byte> damaged = at_offset(record_batch(LeaderRecord{1, 1, 2}, 1), 1);
  damaged.back() ^= std::byte{0x40};  // covered by the CRC
  append(log, damaged);
  io::Result<std::vector<OffsetRecord>> read = read_records(log);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().kind, io::ErrorKind::kCorrupt);
  EXPECT_NE(read.error().message.find("offset 1"), std::string::npos) << read.error().message;
}

TEST(MetadataBatch, RejectsATruncatedBatch) {
  std::vector<std::byte> log = at_offset(record_batch(RemoveTopicRecord{"t"}, 1), 7);
  log.resize(log.size() - 3);
  io::Result<std::vector<OffsetRecord>> read = read_records(log);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().kind, io::ErrorKind::kCorrupt);
  EXPECT_NE(read.error().message.find("offset 7"), std::string::npos) << read.error().message;
}

TEST(MetadataBatch, RejectsARecordThatIsNotAMetadataRecord) {
  protocol::Record garbage;
  garbage.value = std::string("not a flatbuffer");
  std::vector<std::byte> log;
  append(log, at_offset(record_batch(RemoveTopicRecord{"t"}, 1), 4));
  append(log, at_offset(protocol::build_batch(std::span(&garbage, 1)), 5));
  io::Result<std::vector<OffsetRecord>> read = read_records(log);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().kind, io::ErrorKind::kCorrupt);
  EXPECT_NE(read.error().message.find("offset 5"), std::string::npos) << read.error().message;
}

// Invariant: records written as batches read back in order, at the offsets the log gave them.
RC_GTEST_PROP(MetadataBatchProperty, BatchesReadBackAtTheirOffsets, ()) {
  const auto records = *rc::gen::container<std::vector<MetadataRecord>>(gen_record());
  std::vector<std::byte> log;
  std::vector<std::int64_t> offsets;
  std::int64_t next = *rc::gen::inRange<std::int64_t>(0, 1 << 20);
  for (const MetadataRecord& record : records) {
    if (*rc::gen::arbitrary<bool>()) append(log, leader_change_at(next++));
    offsets.push_back(next);
    append(log, at_offset(record_batch(record, next), next));
    ++next;
  }
  io::Result<std::vector<OffsetRecord>> read = read_records(log);
  RC_ASSERT(read.ok());
  RC_ASSERT(read->size() == records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    RC_ASSERT((*read)[i].offset == offsets[i]);
    RC_ASSERT((*read)[i].record == records[i]);
  }
}

}  // namespace
}  // namespace strand::cluster
