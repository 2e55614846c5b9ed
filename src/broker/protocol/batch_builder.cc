#include "broker/protocol/batch_builder.h"

#include <algorithm>
#include <cstring>

#include "broker/protocol/byte_order.h"
#include "broker/protocol/compression.h"
#include "broker/protocol/varint.h"

namespace strand::protocol {
namespace {

void append_bytes(std::vector<std::byte>& out, const std::optional<std::string>& text) {
  if (!text) {
    append_varint(out, -1);
    return;
  }
  append_varint(out, static_cast<std::int32_t>(text->size()));
  const auto* p = reinterpret_cast<const std::byte*>(text->data());
  out.insert(out.end(), p, p + text->size());
}

std::vector<std::byte> encode_record(const Record& record, std::int64_t timestamp_delta,
                                     std::int32_t offset_delta) {
  std::vector<std::byte> body;
  body.push_back(std::byte{0});  // record attributes: unused in v2
  append_varlong(body, timestamp_delta);
  append_varint(body, offset_delta);
  append_bytes(body, record.key);
  append_bytes(body, record.value);
  append_varint(body, static_cast<std::int32_t>(record.headers.size()));
  for (const RecordHeader& header : record.headers) {
    append_bytes(body, header.key);
    append_bytes(body, header.value);
  }
  std::vector<std::byte> framed;
  append_varint(framed, static_cast<std::int32_t>(body.size()));
  framed.insert(framed.end(), body.begin(), body.end());
  return framed;
}

}  // namespace

std::vector<std::byte> build_batch(std::span<const Record> records, BatchOptions options) {
  STRAND_ASSERT(!records.empty(), "a batch holds at least one record");
  std::int64_t base_timestamp = records[0].timestamp_ms;
  std::int64_t max_timestamp = records[0].timestamp_ms;
  for (const Record& record : records) {
    base_timestamp = std::min(base_timestamp, record.timestamp_ms);
    max_timestamp = std::max(max_timestamp, record.timestamp_ms);
  }
  std::vector<std::byte> batch(kBatchHeaderBytes);
  for (std::size_t i = 0; i < records.size(); ++i) {
    std::vector<std::byte> encoded = encode_record(
        records[i], records[i].timestamp_ms - base_timestamp, static_cast<std::int32_t>(i));
    batch.insert(batch.end(), encoded.begin(), encoded.end());
  }
  if (options.compression != Compression::kNone) {
    const std::span<const std::byte> plain =
        std::span<const std::byte>(batch).subspan(kBatchHeaderBytes);
    io::Result<std::vector<std::byte>> packed = compress(options.compression, plain);
    STRAND_ASSERT(packed.ok(), "every codec of the enum compresses");
    batch.resize(kBatchHeaderBytes);
    batch.insert(batch.end(), packed->begin(), packed->end());
  }
  std::byte* h = batch.data();
  const auto count = static_cast<std::int32_t>(records.size());
  store_be<std::int64_t>(h + batch_field::kBaseOffset, 0);
  store_be<std::int32_t>(h + batch_field::kBatchLength,
                         static_cast<std::int32_t>(batch.size() - kBatchLengthFieldEnd));
  store_be<std::int32_t>(h + batch_field::kPartitionLeaderEpoch, -1);
  store_be<std::int8_t>(h + batch_field::kMagic, kBatchMagic);
  store_be<std::int16_t>(h + batch_field::kAttributes,
                         static_cast<std::int16_t>(options.compression));
  store_be<std::int32_t>(h + batch_field::kLastOffsetDelta, count - 1);
  store_be<std::int64_t>(h + batch_field::kBaseTimestamp, base_timestamp);
  store_be<std::int64_t>(h + batch_field::kMaxTimestamp, max_timestamp);
  store_be<std::int64_t>(h + batch_field::kProducerId, options.producer_id);
  store_be<std::int16_t>(h + batch_field::kProducerEpoch, options.producer_epoch);
  store_be<std::int32_t>(h + batch_field::kBaseSequence, options.base_sequence);
  store_be<std::int32_t>(h + batch_field::kRecordsCount, count);
  store_be<std::uint32_t>(h + batch_field::kCrc, compute_batch_crc(batch));
  return batch;
}

namespace {

io::Error malformed(const std::string& what, std::int32_t index) {
  return io::Error{io::ErrorKind::kCorrupt, "record " + std::to_string(index) + ": " + what};
}

std::optional<std::optional<std::string>> read_bytes(std::span<const std::byte>& in) {
  std::optional<std::int32_t> length = read_varint(in);
  if (!length || *length < -1) return std::nullopt;
  if (*length == -1) return std::optional<std::string>{};
  if (static_cast<std::size_t>(*length) > in.size()) return std::nullopt;
  std::string text(reinterpret_cast<const char*>(in.data()), static_cast<std::size_t>(*length));
  in = in.subspan(static_cast<std::size_t>(*length));
  return std::optional<std::string>{std::move(text)};
}

io::Result<Record> read_record(std::span<const std::byte>& in, const RecordBatchView& batch,
                               std::int32_t index) {
  std::optional<std::int32_t> length = read_varint(in);
  if (!length || *length < 0 || static_cast<std::size_t>(*length) > in.size()) {
    return malformed("length runs past the batch", index);
  }
  std::span<const std::byte> body = in.first(static_cast<std::size_t>(*length));
  in = in.subspan(static_cast<std::size_t>(*length));
  if (body.empty()) return malformed("empty record", index);
  body = body.subspan(1);  // attributes
  std::optional<std::int64_t> timestamp_delta = read_varlong(body);
  std::optional<std::int32_t> offset_delta = read_varint(body);
  if (!timestamp_delta || !offset_delta) return malformed("bad timestamp or offset delta", index);
  Record record;
  record.timestamp_ms = batch.base_timestamp() + *timestamp_delta;
  record.offset = batch.base_offset() + *offset_delta;
  std::optional<std::optional<std::string>> key = read_bytes(body);
  std::optional<std::optional<std::string>> value = read_bytes(body);
  std::optional<std::int32_t> headers_count = read_varint(body);
  if (!key || !value || !headers_count || *headers_count < 0) {
    return malformed("bad key, value or header count", index);
  }
  record.key = std::move(*key);
  record.value = std::move(*value);
  for (std::int32_t h = 0; h < *headers_count; ++h) {
    std::optional<std::optional<std::string>> header_key = read_bytes(body);
    std::optional<std::optional<std::string>> header_value = read_bytes(body);
    if (!header_key || !*header_key || !header_value) return malformed("bad header", index);
    record.headers.push_back(RecordHeader{std::move(**header_key), std::move(*header_value)});
  }
  if (!body.empty()) return malformed("trailing bytes", index);
  return record;
}

}  // namespace

io::Result<std::vector<Record>> read_records(const RecordBatchView& batch,
                                             std::size_t decompressed_bytes_max) {
  std::span<const std::byte> in = batch.bytes().subspan(kBatchHeaderBytes);
  std::vector<std::byte> plain;
  if (batch.compression() != Compression::kNone) {
    io::Result<std::vector<std::byte>> decompressed =
        decompress(batch.compression(), in, decompressed_bytes_max);
    if (!decompressed) return std::move(decompressed).error();
    plain = std::move(*decompressed);
    in = plain;
  }
  std::vector<Record> records;
  // A record takes at least seven bytes, so a lying count cannot make this reserve much.
  records.reserve(
      std::min<std::size_t>(static_cast<std::size_t>(batch.records_count()), in.size() / 7));
  for (std::int32_t i = 0; i < batch.records_count(); ++i) {
    io::Result<Record> record = read_record(in, batch, i);
    if (!record) return std::move(record).error();
    records.push_back(std::move(*record));
  }
  if (!in.empty()) return io::Error{io::ErrorKind::kCorrupt, "bytes after the last record"};
  return records;
}

}  // namespace strand::protocol
