#include "broker/protocol/record_batch.h"

#include <string>

#include "broker/protocol/byte_order.h"
#include "broker/protocol/crc32c.h"

namespace strand::protocol {
namespace {

io::Error corrupt(std::string message) {
  return io::Error{io::ErrorKind::kCorrupt, std::move(message)};
}

template <typename T>
T field(std::span<const std::byte> bytes, std::uint32_t offset) {
  STRAND_ASSERT(offset + sizeof(T) <= bytes.size(), "field lies inside the batch header");
  return load_be<T>(bytes.data() + offset);
}

// Attribute bits Kafka defines for v2: compression 0-2, timestamp type 3, transactional 4,
// control 5, delete horizon 6. Anything above is garbage.
constexpr std::int16_t kAttributesKnownMask = 0x7f;

io::Result<void> check_counts(const RecordBatchView& batch, BatchOrigin origin) {
  const std::int32_t count = batch.records_count();
  const std::int32_t last_delta = batch.last_offset_delta();
  if (count < 0) return corrupt("recordsCount " + std::to_string(count) + " is negative");
  if (last_delta < 0) {
    return corrupt("lastOffsetDelta " + std::to_string(last_delta) + " is negative");
  }
  // Every record takes at least 7 bytes, so the count can't exceed what an uncompressed batch
  // could hold (compressed records can be far smaller than that: zstd packs 40 similar lines
  // into a few hundred bytes).
  const std::uint32_t records_bytes = batch.size_bytes() - kBatchHeaderBytes;
  if (batch.compression() == Compression::kNone &&
      static_cast<std::uint64_t>(count) * 7 > records_bytes) {
    return corrupt("recordsCount " + std::to_string(count) + " does not fit in " +
                   std::to_string(records_bytes) + " bytes of records");
  }
  if (origin == BatchOrigin::kClient) {
    if (count == 0) return corrupt("recordsCount is 0: a produced batch holds records");
    if (static_cast<std::int64_t>(last_delta) + 1 != count) {
      return corrupt("recordsCount " + std::to_string(count) + " does not match lastOffsetDelta " +
                     std::to_string(last_delta));
    }
  } else if (count > 0 && last_delta + 1 < count) {
    return corrupt("recordsCount " + std::to_string(count) + " exceeds the offset range");
  }
  return io::ok();
}

}  // namespace

io::Result<std::uint32_t> RecordBatchView::peek_size(std::span<const std::byte> bytes) {
  if (bytes.size() < kBatchLengthFieldEnd) {
    return corrupt("batch of " + std::to_string(bytes.size()) +
                   " bytes is shorter than its header");
  }
  const std::int32_t length = field<std::int32_t>(bytes, batch_field::kBatchLength);
  if (length < static_cast<std::int32_t>(kBatchHeaderBytes - kBatchLengthFieldEnd)) {
    return corrupt("batchLength " + std::to_string(length) + " is shorter than a batch header");
  }
  if (static_cast<std::uint32_t>(length) > kBatchBytesMax - kBatchLengthFieldEnd) {
    return corrupt("batchLength " + std::to_string(length) + " is larger than any batch");
  }
  return static_cast<std::uint32_t>(length) + kBatchLengthFieldEnd;
}

io::Result<RecordBatchView> RecordBatchView::parse(std::span<const std::byte> bytes,
                                                   BatchOrigin origin) {
  if (bytes.size() < kBatchHeaderBytes) {
    return corrupt("batch of " + std::to_string(bytes.size()) + " bytes is shorter than the " +
                   std::to_string(kBatchHeaderBytes) + "-byte header");
  }
  io::Result<std::uint32_t> size = peek_size(bytes);
  if (!size) return std::move(size).error();
  if (*size != bytes.size()) {
    return corrupt("batchLength says " + std::to_string(*size) + " bytes but the batch has " +
                   std::to_string(bytes.size()));
  }
  const auto magic = field<std::int8_t>(bytes, batch_field::kMagic);
  if (magic != kBatchMagic) {
    return corrupt("magic " + std::to_string(magic) +
                   " is not 2 (only record batch v2 is supported)");
  }
  RecordBatchView batch(bytes);
  const std::uint32_t computed = compute_batch_crc(bytes);
  if (computed != batch.crc()) {
    return corrupt("crc mismatch: batch says " + std::to_string(batch.crc()) + ", content has " +
                   std::to_string(computed));
  }
  if ((batch.attributes() & ~kAttributesKnownMask) != 0 || (batch.attributes() & 0x7) > 4) {
    return corrupt("attributes " + std::to_string(batch.attributes()) + " has unknown bits");
  }
  io::Result<void> counts = check_counts(batch, origin);
  if (!counts) return std::move(counts).error();
  return batch;
}

std::int64_t RecordBatchView::base_offset() const {
  return field<std::int64_t>(bytes_, batch_field::kBaseOffset);
}
std::int32_t RecordBatchView::partition_leader_epoch() const {
  return field<std::int32_t>(bytes_, batch_field::kPartitionLeaderEpoch);
}
std::uint32_t RecordBatchView::crc() const {
  return field<std::uint32_t>(bytes_, batch_field::kCrc);
}
std::int16_t RecordBatchView::attributes() const {
  return field<std::int16_t>(bytes_, batch_field::kAttributes);
}
std::int32_t RecordBatchView::last_offset_delta() const {
  return field<std::int32_t>(bytes_, batch_field::kLastOffsetDelta);
}
std::int64_t RecordBatchView::base_timestamp() const {
  return field<std::int64_t>(bytes_, batch_field::kBaseTimestamp);
}
std::int64_t RecordBatchView::max_timestamp() const {
  return field<std::int64_t>(bytes_, batch_field::kMaxTimestamp);
}
std::int64_t RecordBatchView::producer_id() const {
  return field<std::int64_t>(bytes_, batch_field::kProducerId);
}
std::int16_t RecordBatchView::producer_epoch() const {
  return field<std::int16_t>(bytes_, batch_field::kProducerEpoch);
}
std::int32_t RecordBatchView::base_sequence() const {
  return field<std::int32_t>(bytes_, batch_field::kBaseSequence);
}
std::int32_t RecordBatchView::records_count() const {
  return field<std::int32_t>(bytes_, batch_field::kRecordsCount);
}

void set_base_offset(std::span<std::byte> bytes, std::int64_t base_offset) {
  STRAND_ASSERT(bytes.size() >= kBatchHeaderBytes, "a batch header to write into");
  store_be<std::int64_t>(bytes.data() + batch_field::kBaseOffset, base_offset);
}

void set_partition_leader_epoch(std::span<std::byte> bytes, std::int32_t epoch) {
  STRAND_ASSERT(bytes.size() >= kBatchHeaderBytes, "a batch header to write into");
  store_be<std::int32_t>(bytes.data() + batch_field::kPartitionLeaderEpoch, epoch);
}

std::uint32_t compute_batch_crc(std::span<const std::byte> bytes) {
  STRAND_ASSERT(bytes.size() >= kBatchHeaderBytes, "a whole batch header");
  return crc32c(bytes.subspan(kBatchCrcStart));
}

io::Result<std::span<const std::byte>> next_batch(std::span<const std::byte>& rest) {
  io::Result<std::uint32_t> size = RecordBatchView::peek_size(rest);
  if (!size) return std::move(size).error();
  if (*size > rest.size()) {
    return io::Error{io::ErrorKind::kOutOfRange, "batch of " + std::to_string(*size) +
                                                     " bytes with " + std::to_string(rest.size()) +
                                                     " left"};
  }
  const std::span<const std::byte> batch = rest.first(*size);
  rest = rest.subspan(*size);
  return batch;
}

bool strip_control_records(std::vector<std::byte>& bytes) {
  // Most reads hold no control batch: nothing is copied until the first one.
  std::vector<std::byte> out;
  bool changed = false;
  std::size_t at = 0;
  while (bytes.size() - at >= kBatchHeaderBytes) {
    std::span<const std::byte> rest = std::span<const std::byte>(bytes).subspan(at);
    io::Result<std::span<const std::byte>> batch = next_batch(rest);
    if (!batch) break;
    const std::size_t size = batch->size();
    const std::int16_t attributes = load_be<std::int16_t>(batch->data() + batch_field::kAttributes);
    const bool strip = (attributes & 0x20) != 0 && size > kBatchHeaderBytes;
    if (strip && !changed) {
      out.reserve(bytes.size());
      out.assign(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(at));
      changed = true;
    }
    if (strip) {
      const std::size_t header_at = out.size();
      out.insert(out.end(), batch->begin(), batch->begin() + kBatchHeaderBytes);
      std::byte* header = out.data() + header_at;
      store_be<std::int32_t>(header + batch_field::kBatchLength,
                             static_cast<std::int32_t>(kBatchHeaderBytes - kBatchLengthFieldEnd));
      // No records, so no compression either.
      store_be<std::int16_t>(header + batch_field::kAttributes,
                             static_cast<std::int16_t>(attributes & ~0x07));
      store_be<std::int32_t>(header + batch_field::kRecordsCount, 0);
      store_be<std::uint32_t>(
          header + batch_field::kCrc,
          compute_batch_crc(std::span<const std::byte>(header, kBatchHeaderBytes)));
    } else if (changed) {
      out.insert(out.end(), batch->begin(), batch->end());
    }
    at += size;
  }
  if (!changed) return false;
  out.insert(out.end(), bytes.begin() + static_cast<std::ptrdiff_t>(at), bytes.end());
  bytes = std::move(out);
  return true;
}

}  // namespace strand::protocol
