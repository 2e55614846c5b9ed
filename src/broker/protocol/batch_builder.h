// Builds uncompressed record batches v2 (what a producer sends), and reads the records back out of
// an uncompressed batch (what a consumer does). Used by the client library and by tests.
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
};

// A batch with the given records, base offset 0, leader epoch -1, CRC set.
// REQUIRES: at least one record.
std::vector<std::byte> build_batch(std::span<const Record> records, BatchOptions options = {});

// The records of an uncompressed batch, offsets filled from the batch's base offset.
// Errors: kCorrupt naming what is malformed; kInvalid if the batch is compressed.
io::Result<std::vector<Record>> read_records(const RecordBatchView& batch);

}  // namespace strand::protocol
