// Builds record batches v2 (what a producer sends), and reads the records back out of
// a batch, compressed or not (what a consumer does). Used by the client library and by tests.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/protocol/record_batch.h"
#include "io/result.h"

namespace strand::protocol {

struct RecordHeader {
  std::string key;
  std::optional<std::string> value;
  friend bool operator==(const RecordHeader&, const RecordHeader&) = default;
};

struct Record {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<RecordHeader> headers;
  std::int64_t timestamp_ms = 0;
  std::int64_t offset = 0;  // filled when reading; ignored when building
  friend bool operator==(const Record&, const Record&) = default;
};

struct BatchOptions {
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  std::int32_t base_sequence = -1;
  Compression compression = Compression::kNone;  // of the records section
};

// A batch with the given records, compressed as the options say, base offset 0, leader epoch -1,
// CRC set.
// REQUIRES: at least one record.
std::vector<std::byte> build_batch(std::span<const Record> records, BatchOptions options = {});

// The records of a batch, offsets filled from the batch's base offset; compressed records are
// decompressed first, to at most `decompressed_bytes_max` bytes.
// Errors: kCorrupt naming what is malformed; kInvalid for an unknown codec or records that
// decompress to more than the limit.
inline constexpr std::size_t kDecompressedBytesMax = std::size_t{64} << 20;
io::Result<std::vector<Record>> read_records(
    const RecordBatchView& batch, std::size_t decompressed_bytes_max = kDecompressedBytesMax);

}  // namespace strand::protocol
