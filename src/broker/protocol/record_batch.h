// Kafka record batch v2 (magic 2): a read-only view over stored or received bytes, and the checks
// that decide whether bytes are a batch at all. Batches are stored verbatim; the log rewrites only
// baseOffset and partitionLeaderEpoch, which lie outside the CRC.
//
// Layout (big-endian), offsets in bytes:
//   0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 | 16 magic i8 | 17 crc u32
//   21 attributes i16 | 23 lastOffsetDelta i32 | 27 baseTimestamp i64 | 35 maxTimestamp i64
//   43 producerId i64 | 51 producerEpoch i16 | 53 baseSequence i32 | 57 recordsCount i32 | 61
//   records
// The CRC-32C covers attributes through the end of the batch.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "io/result.h"

namespace strand::protocol {

inline constexpr std::uint32_t kBatchHeaderBytes = 61;
inline constexpr std::uint32_t kBatchLengthFieldEnd = 12;  // batchLength counts from here
inline constexpr std::uint32_t kBatchCrcStart = 21;
inline constexpr std::int8_t kBatchMagic = 2;
// The largest batch we accept at all (message.max.bytes is checked separately and is smaller).
inline constexpr std::uint32_t kBatchBytesMax = 256u << 20;

namespace batch_field {
inline constexpr std::uint32_t kBaseOffset = 0;
inline constexpr std::uint32_t kBatchLength = 8;
inline constexpr std::uint32_t kPartitionLeaderEpoch = 12;
inline constexpr std::uint32_t kMagic = 16;
inline constexpr std::uint32_t kCrc = 17;
inline constexpr std::uint32_t kAttributes = 21;
inline constexpr std::uint32_t kLastOffsetDelta = 23;
inline constexpr std::uint32_t kBaseTimestamp = 27;
inline constexpr std::uint32_t kMaxTimestamp = 35;
inline constexpr std::uint32_t kProducerId = 43;
inline constexpr std::uint32_t kProducerEpoch = 51;
inline constexpr std::uint32_t kBaseSequence = 53;
inline constexpr std::uint32_t kRecordsCount = 57;
}  // namespace batch_field

static_assert(batch_field::kRecordsCount + 4 == kBatchHeaderBytes, "header ends after the count");
static_assert(batch_field::kAttributes == kBatchCrcStart, "the CRC starts at attributes");

enum class Compression : std::uint8_t { kNone = 0, kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4 };
enum class TimestampType : std::uint8_t { kCreateTime = 0, kLogAppendTime = 1 };

// Who made the batch decides how strict the checks are: a producer's batch must have a dense offset
// range (lastOffsetDelta + 1 == recordsCount, as Kafka's LogValidator demands), while a batch that
// was already in a log may have gaps (compaction).
enum class BatchOrigin : std::uint8_t { kClient, kLog };

// A view of one whole batch. Cheap to copy; does not own the bytes.
class RecordBatchView {
 public:
  // Checks that `bytes` is exactly one valid batch: size, batchLength, magic, CRC-32C, attribute
  // bits, record count. Errors are kCorrupt with a message naming the field that is wrong.
  static io::Result<RecordBatchView> parse(std::span<const std::byte> bytes, BatchOrigin origin);

  // Length of the batch that starts at `bytes` (12 + batchLength), after checking only that the
  // header's length field is sane. For splitting a stream of batches; kCorrupt if not.
  static io::Result<std::uint32_t> peek_size(std::span<const std::byte> bytes);

  std::span<const std::byte> bytes() const { return bytes_; }
  std::uint32_t size_bytes() const { return static_cast<std::uint32_t>(bytes_.size()); }

  std::int64_t base_offset() const;
  std::int64_t last_offset() const { return base_offset() + last_offset_delta(); }
  std::int32_t partition_leader_epoch() const;
  std::uint32_t crc() const;
  std::int16_t attributes() const;
  std::int32_t last_offset_delta() const;
  std::int64_t base_timestamp() const;
  std::int64_t max_timestamp() const;
  std::int64_t producer_id() const;
  std::int16_t producer_epoch() const;
  std::int32_t base_sequence() const;
  std::int32_t records_count() const;

  Compression compression() const { return static_cast<Compression>(attributes() & 0x7); }
  TimestampType timestamp_type() const {
    return (attributes() & 0x8) ? TimestampType::kLogAppendTime : TimestampType::kCreateTime;
  }
  bool transactional() const { return (attributes() & 0x10) != 0; }
  bool control() const { return (attributes() & 0x20) != 0; }

 private:
  explicit RecordBatchView(std::span<const std::byte> bytes) : bytes_(bytes) {}
  std::span<const std::byte> bytes_;
};

// Overwrites the two fields the log assigns; neither is covered by the CRC.
// REQUIRES: `bytes` holds a batch header.
void set_base_offset(std::span<std::byte> bytes, std::int64_t base_offset);
void set_partition_leader_epoch(std::span<std::byte> bytes, std::int32_t epoch);

// CRC-32C over the part of the batch the crc field covers.
std::uint32_t compute_batch_crc(std::span<const std::byte> bytes);

// The whole batch at the front of `rest`, a stream of batches as a log read or a fetch returns
// them; `rest` then starts after it. Errors (`rest` unchanged): kCorrupt when the header's length
// field is not sane, kOutOfRange when the batch runs past the end of `rest` (a read cut short).
// Only the length is checked: parse the batch to trust the rest of it.
io::Result<std::span<const std::byte>> next_batch(std::span<const std::byte>& rest);

// Replaces every control batch in `bytes` (whole batches as the log stores them, e.g. a Fetch's
// records) by its header alone: the same offsets and control attribute, no records. A replicated
// partition's log holds Raft's own control batches (a new leader's first entry, configuration
// changes); consumers skip control batches by their header, but some (kafka-python) hand their
// records to the application, so their records never leave the broker. Bytes after the last
// whole batch are kept as they are. Returns whether anything changed.
bool strip_control_records(std::vector<std::byte>& bytes);

}  // namespace strand::protocol
