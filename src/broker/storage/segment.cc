#include "broker/storage/segment.h"

#include <algorithm>
#include <cstdio>

#include "broker/protocol/batch_builder.h"
#include "broker/protocol/byte_order.h"
#include "broker/protocol/record_batch.h"
#include "broker/storage/atomic_file.h"
#include "broker/storage/segment_format.h"

namespace strand::storage {

using protocol::RecordBatchView;
namespace field = protocol::batch_field;

namespace {

// Enough of a header to know a batch's size and offsets.
constexpr std::uint32_t kHeaderPrefixBytes = field::kLastOffsetDelta + 4;
constexpr std::uint32_t kScanChunkBytes = 64 * 1024;

io::Error corrupt_at(const std::string& path, std::uint64_t position, const std::string& why) {
  return io::Error{io::ErrorKind::kCorrupt,
                   path + " at byte " + std::to_string(position) + ": " + why};
}

std::int64_t header_base_offset(const std::byte* header) {
  return protocol::load_be<std::int64_t>(header + field::kBaseOffset);
}
std::int64_t header_last_offset(const std::byte* header) {
  return header_base_offset(header) +
         protocol::load_be<std::int32_t>(header + field::kLastOffsetDelta);
}

// A window of file bytes that scans refill as they move forward.
struct Window {
  std::vector<std::byte> bytes;
  std::uint64_t start = 0;
  bool holds(std::uint64_t position, std::uint64_t length) const {
    return position >= start && position + length <= start + bytes.size();
  }
  const std::byte* at(std::uint64_t position) const { return bytes.data() + (position - start); }
};

}  // namespace

std::string segment_file_name(std::int64_t base_offset, const char* suffix) {
  char name[32];
  std::snprintf(name, sizeof(name), "%020lld", static_cast<long long>(base_offset));
  return std::string(name) + suffix;
}

Segment::Segment(io::FileSystem& fs, SegmentOptions options, std::unique_ptr<io::File> file)
    : fs_(fs),
      options_(std::move(options)),
      log_(std::move(file)),
      index_(options_.index_interval_bytes),
      next_offset_(options_.base_offset) {}

std::string Segment::path(const char* suffix) const {
  return io::join_path(options_.directory, segment_file_name(options_.base_offset, suffix));
}

io::Task<io::Result<std::unique_ptr<Segment>>> Segment::create(io::FileSystem& fs,
                                                               SegmentOptions options) {
  const std::string log_path =
      io::join_path(options.directory, segment_file_name(options.base_offset, kLogSuffix));
  io::Result<std::unique_ptr<io::File>> file = co_await fs.open(log_path, io::OpenMode::kTruncate);
  if (!file) co_return std::move(file).error();
  // The name must be durable before any batch in it is acknowledged as synced.
  io::Result<void> dir_synced = co_await fs.sync_dir(options.directory);
  if (!dir_synced) co_return std::move(dir_synced).error();
  co_return std::unique_ptr<Segment>(new Segment(fs, std::move(options), std::move(*file)));
}

io::Task<io::Result<std::unique_ptr<Segment>>> Segment::open(io::FileSystem& fs,
                                                             SegmentOptions options,
                                                             SegmentRecovery recovery,
                                                             std::int64_t scan_stop_offset) {
  const std::string log_path =
      io::join_path(options.directory, segment_file_name(options.base_offset, kLogSuffix));
  io::Result<std::unique_ptr<io::File>> file = co_await fs.open(log_path, io::OpenMode::kReadWrite);
  if (!file) co_return std::move(file).error();
  std::unique_ptr<Segment> segment(new Segment(fs, std::move(options), std::move(*file)));
  bool loaded = false;
  if (recovery == SegmentRecovery::kTrustIndex) {
    io::Result<bool> index_loaded = co_await segment->load_index();
    if (!index_loaded) co_return std::move(index_loaded).error();
    loaded = *index_loaded;
  }
  if (!loaded) {
    io::Result<void> scanned = co_await segment->scan_and_truncate(scan_stop_offset);
    if (!scanned) co_return std::move(scanned).error();
  }
  co_return segment;
}

io::Task<io::Result<bool>> Segment::load_index() {
  const std::size_t bytes_max =
      kIndexHeaderBytes + kIndexTrailerBytes + (kSegmentBytesMax / 64) * kIndexEntryBytes;
  io::Result<std::optional<std::vector<std::byte>>> raw =
      co_await read_small_file(fs_, path(kIndexSuffix), bytes_max);
  if (!raw) co_return std::move(raw).error();
  if (!*raw) co_return false;
  io::Result<std::pair<SegmentIndex, IndexSummary>> decoded =
      SegmentIndex::decode(**raw, options_.index_interval_bytes);
  // A bad or stale index is not an error: the log itself is the truth, so rebuild from it.
  if (!decoded || decoded->second.log_bytes != log_->size() ||
      decoded->second.next_offset < options_.base_offset) {
    co_return false;
  }
  index_ = std::move(decoded->first);
  next_offset_ = decoded->second.next_offset;
  size_bytes_ = decoded->second.log_bytes;
  if (size_bytes_ >= protocol::kBatchHeaderBytes) {
    io::Result<std::vector<std::byte>> first = co_await read_range(0, protocol::kBatchHeaderBytes);
    if (!first) co_return std::move(first).error();
    first_batch_timestamp_ = protocol::load_be<std::int64_t>(first->data() + field::kMaxTimestamp);
  }
  co_return true;
}

void Segment::note_batch(std::span<const std::byte> header, std::uint32_t position,
                         std::uint32_t size) {
  const std::int64_t base = header_base_offset(header.data());
  const std::int64_t last = header_last_offset(header.data());
  const auto max_timestamp = protocol::load_be<std::int64_t>(header.data() + field::kMaxTimestamp);
  STRAND_ASSERT(base >= next_offset_, "batches in a segment have increasing offsets");
  STRAND_ASSERT(base - options_.base_offset <= 0xffffffffll, "relative offsets fit u32");
  index_.on_append(static_cast<std::uint32_t>(base - options_.base_offset), position, size,
                   max_timestamp);
  if (first_batch_timestamp_ < 0) first_batch_timestamp_ = max_timestamp;
  next_offset_ = last + 1;
}

io::Task<io::Result<std::vector<std::byte>>> Segment::read_range(std::uint64_t position,
                                                                 std::uint64_t length) {
  io::Result<std::vector<std::byte>> bytes = co_await log_->read_bytes(position, length);
  if (!bytes) co_return with_context(std::move(bytes).error(), path(kLogSuffix));
  if (bytes->size() < length) {
    co_return corrupt_at(path(kLogSuffix), position + bytes->size(), "unexpected end");
  }
  co_return std::move(*bytes);
}

// Validates every batch from the start; the first one that is torn, fails its CRC, or goes back
// in offsets ends the segment. What follows it can't be trusted (a crash tore it, or the disk
// corrupted it), so it is cut off and the cut is synced before anything else is written. A batch
// holding `stop_offset` or later ends the segment too.
io::Task<io::Result<void>> Segment::scan_and_truncate(std::int64_t stop_offset) {
  const std::uint64_t file_bytes = log_->size();
  Window window;
  std::uint64_t position = 0;
  for (std::uint64_t batches = 0; position < file_bytes; ++batches) {
    STRAND_ASSERT(batches <= kRecoveryBatchesMax, "no legal segment holds more batches");
    const std::uint64_t left = file_bytes - position;
    if (left < protocol::kBatchHeaderBytes) break;  // a torn header
    if (!window.holds(position, protocol::kBatchHeaderBytes)) {
      io::Result<std::vector<std::byte>> chunk =
          co_await read_range(position, std::min<std::uint64_t>(left, kRecoveryChunkBytes));
      if (!chunk) co_return std::move(chunk).error();
      window = Window{std::move(*chunk), position};
    }
    io::Result<std::uint32_t> size =
        RecordBatchView::peek_size({window.at(position), protocol::kBatchHeaderBytes});
    if (!size || *size > left) {  // garbage length, or a batch torn short
      io::Result<std::optional<LostEnd>> lost =
          co_await last_intact_after(position + 1, file_bytes);
      if (!lost) co_return std::move(lost).error();
      lost_end_ = *lost;
      break;
    }
    if (!window.holds(position, *size)) {
      io::Result<std::vector<std::byte>> chunk = co_await read_range(
          position, std::min<std::uint64_t>(left, std::max(*size, kRecoveryChunkBytes)));
      if (!chunk) co_return std::move(chunk).error();
      window = Window{std::move(*chunk), position};
    }
    std::span<const std::byte> bytes(window.at(position), *size);
    io::Result<RecordBatchView> batch = RecordBatchView::parse(bytes, protocol::BatchOrigin::kLog);
    // The writer keeps a segment dense (PartitionLog::write_group asserts it), and baseOffset is
    // outside the CRC: a batch that does not continue the segment is corrupt too.
    if (!batch || batch->base_offset() != next_offset_) {
      // Whatever intact batches lie behind the cut: a crash may have torn unsynced sectors in any
      // order, so they only bound what the log held (lost_end()).
      io::Result<std::optional<LostEnd>> lost =
          co_await last_intact_after(position + 1, file_bytes);
      if (!lost) co_return std::move(lost).error();
      lost_end_ = *lost;
      break;
    }
    if (batch->last_offset() >= stop_offset) break;
    note_batch(bytes, static_cast<std::uint32_t>(position), *size);
    position += *size;
  }
  size_bytes_ = position;
  if (position < file_bytes) {
    io::Result<void> cut = co_await log_->truncate(position);
    if (!cut) co_return std::move(cut).error();
    io::Result<void> synced = co_await log_->sync();
    if (!synced) co_return std::move(synced).error();
  }
  co_return io::ok();
}

io::Task<io::Result<std::optional<LostEnd>>> Segment::last_intact_after(std::uint64_t from,
                                                                        std::uint64_t file_bytes) {
  std::optional<LostEnd> found;
  Window window;
  std::uint64_t position = from;
  for (std::uint64_t steps = 0; position + protocol::kBatchHeaderBytes <= file_bytes; ++steps) {
    STRAND_ASSERT(steps <= file_bytes, "every step moves forward");
    const std::uint64_t left = file_bytes - position;
    if (!window.holds(position, protocol::kBatchHeaderBytes)) {
      io::Result<std::vector<std::byte>> chunk =
          co_await read_range(position, std::min<std::uint64_t>(left, kRecoveryChunkBytes));
      if (!chunk) co_return std::move(chunk).error();
      window = Window{std::move(*chunk), position};
    }
    std::uint32_t size = 0;
    bool intact = false;
    if (*(window.at(position) + field::kMagic) == std::byte{2}) {
      io::Result<std::uint32_t> peeked =
          RecordBatchView::peek_size({window.at(position), protocol::kBatchHeaderBytes});
      if (peeked && *peeked <= left) {
        size = *peeked;
        if (!window.holds(position, size)) {
          io::Result<std::vector<std::byte>> chunk = co_await read_range(
              position, std::min<std::uint64_t>(left, std::max(size, kRecoveryChunkBytes)));
          if (!chunk) co_return std::move(chunk).error();
          window = Window{std::move(*chunk), position};
        }
        io::Result<RecordBatchView> batch =
            RecordBatchView::parse({window.at(position), size}, protocol::BatchOrigin::kLog);
        // Beyond what came before, so not a batch carried inside a record's value.
        const std::int64_t floor = found ? found->last_offset : next_offset_;
        if (batch && batch->base_offset() > floor) {
          intact = true;
          found = LostEnd{batch->last_offset(), batch->partition_leader_epoch()};
        }
      }
    }
    position += intact ? size : 1;
  }
  co_return found;
}

io::Task<io::Result<void>> Segment::append(std::span<const std::byte> batches) {
  STRAND_ASSERT(batches.size() >= protocol::kBatchHeaderBytes, "at least one whole batch");
  STRAND_ASSERT(size_bytes_ + batches.size() <= kSegmentBytesMax, "positions stay within u32");
  STRAND_ASSERT(log_->size() == size_bytes_, "nothing but whole batches in the file");
  io::Result<void> written = co_await log_->append(batches);
  if (!written) co_return with_context(std::move(written).error(), path(kLogSuffix));
  std::size_t at = 0;
  for (std::size_t noted = 0; at < batches.size(); ++noted) {
    STRAND_ASSERT(noted <= batches.size() / protocol::kBatchHeaderBytes, "batches have headers");
    const std::uint32_t size = RecordBatchView::peek_size(batches.subspan(at)).value();
    STRAND_ASSERT(at + size <= batches.size(), "only whole batches are appended");
    note_batch(batches.subspan(at, size), static_cast<std::uint32_t>(size_bytes_ + at), size);
    at += size;
  }
  size_bytes_ += batches.size();
  co_return io::ok();
}

io::Task<io::Result<void>> Segment::sync() {
  io::Result<void> synced = co_await log_->sync();
  if (!synced) co_return with_context(std::move(synced).error(), path(kLogSuffix));
  co_return io::ok();
}

// Position of the first batch whose last offset >= `offset` (size_bytes_ if none), starting from
// the index's floor entry. Reads headers in chunks; bounded by the segment's batch count.
io::Task<io::Result<BatchPosition>> Segment::find_position(std::int64_t offset) {
  std::uint64_t position = 0;
  if (offset > options_.base_offset) {
    std::optional<IndexEntry> floor = index_.floor_offset(static_cast<std::uint32_t>(
        std::min<std::int64_t>(offset - options_.base_offset, 0xffffffffll)));
    if (floor) position = floor->position;
  }
  Window window;
  for (std::uint64_t batches = 0; position < size_bytes_; ++batches) {
    STRAND_ASSERT(batches <= kRecoveryBatchesMax, "no legal segment holds more batches");
    const std::uint64_t left = size_bytes_ - position;
    if (!window.holds(position, kHeaderPrefixBytes)) {
      io::Result<std::vector<std::byte>> chunk =
          co_await read_range(position, std::min<std::uint64_t>(left, kScanChunkBytes));
      if (!chunk) co_return std::move(chunk).error();
      window = Window{std::move(*chunk), position};
    }
    if (left < kHeaderPrefixBytes) co_return corrupt_at(path(kLogSuffix), position, "torn header");
    const std::byte* header = window.at(position);
    io::Result<std::uint32_t> size = RecordBatchView::peek_size({header, kHeaderPrefixBytes});
    if (!size || *size > left) co_return corrupt_at(path(kLogSuffix), position, "bad batch length");
    if (header_last_offset(header) >= offset) {
      co_return BatchPosition{position, header_base_offset(header)};
    }
    position += *size;
  }
  co_return BatchPosition{size_bytes_, next_offset_};
}

io::Task<io::Result<std::vector<std::byte>>> Segment::read(std::int64_t from_offset,
                                                           std::uint32_t bytes_max) {
  if (from_offset >= next_offset_ || size_bytes_ == 0) co_return std::vector<std::byte>{};
  io::Result<BatchPosition> found = co_await find_position(from_offset);
  if (!found) co_return std::move(found).error();
  const std::uint64_t start = found->position;
  if (start >= size_bytes_) co_return std::vector<std::byte>{};
  // One read of what was asked for usually holds the first batch; a larger first batch is read
  // again whole (it is returned even beyond bytes_max, as Kafka does since KIP-74).
  const std::uint64_t guess = std::max<std::uint64_t>(bytes_max, kHeaderPrefixBytes);
  io::Result<std::vector<std::byte>> bytes =
      co_await read_range(start, std::min<std::uint64_t>(guess, size_bytes_ - start));
  if (!bytes) co_return std::move(bytes).error();
  io::Result<std::uint32_t> first_size = RecordBatchView::peek_size(*bytes);
  if (!first_size) co_return corrupt_at(path(kLogSuffix), start, first_size.error().message);
  if (*first_size > bytes->size()) {
    if (*first_size > size_bytes_ - start) {
      co_return corrupt_at(path(kLogSuffix), start, "batch runs past the end of the segment");
    }
    bytes = co_await read_range(start, *first_size);
    if (!bytes) co_return std::move(bytes).error();
  }
  // Keep whole batches only, and never hand out one that fails its CRC or whose offsets (outside
  // the CRC) break the segment's density: the first holds `from_offset`, each next one continues.
  std::size_t kept = 0;
  std::int64_t expected_base = -1;
  for (std::size_t batches = 0; kept < bytes->size(); ++batches) {
    STRAND_ASSERT(batches <= bytes->size(), "every batch has a positive size");
    std::span<const std::byte> rest = std::span<const std::byte>(*bytes).subspan(kept);
    io::Result<std::span<const std::byte>> whole = protocol::next_batch(rest);
    if (!whole) break;
    io::Result<RecordBatchView> batch = RecordBatchView::parse(*whole, protocol::BatchOrigin::kLog);
    if (batch) {
      const bool continues = expected_base < 0 ? batch->base_offset() <= from_offset &&
                                                     batch->last_offset() >= from_offset
                                               : batch->base_offset() == expected_base;
      if (!continues || batch->last_offset() >= next_offset_) {
        batch = io::Error{io::ErrorKind::kCorrupt,
                          "batch offsets " + std::to_string(batch->base_offset()) + ".." +
                              std::to_string(batch->last_offset()) + " break the segment's order"};
      }
    }
    if (batch) expected_base = batch->last_offset() + 1;
    // A corrupt batch further on must not hide the intact ones before it: hand those out, and
    // fail only a read that starts at the corrupt one.
    if (!batch && kept > 0) break;
    if (!batch) co_return corrupt_at(path(kLogSuffix), start + kept, batch.error().message);
    kept += whole->size();
  }
  STRAND_ASSERT(kept >= *first_size, "the first batch is always returned whole");
  bytes->resize(kept);
  co_return std::move(*bytes);
}

io::Task<io::Result<std::optional<std::int64_t>>> Segment::offset_for_timestamp(
    std::int64_t timestamp) {
  std::optional<std::size_t> entry = index_.first_reaching_timestamp(timestamp);
  if (!entry) co_return std::optional<std::int64_t>{};
  const IndexEntry& from = index_.entries()[*entry];
  std::int64_t offset = options_.base_offset + from.relative_offset;
  // Walk batches from that entry: the first whose max timestamp reaches the target holds the
  // first record that does (bounded: the scan stops at the end of the segment).
  for (std::uint64_t batches = 0; offset < next_offset_; ++batches) {
    STRAND_ASSERT(batches <= kRecoveryBatchesMax, "no legal segment holds more batches");
    io::Result<std::vector<std::byte>> bytes = co_await read(offset, 1);
    if (!bytes) co_return std::move(bytes).error();
    if (bytes->empty()) break;
    io::Result<RecordBatchView> batch = RecordBatchView::parse(*bytes, protocol::BatchOrigin::kLog);
    if (!batch) co_return std::move(batch).error();
    if (batch->max_timestamp() >= timestamp) {
      co_return first_record_reaching(*batch, timestamp);
    }
    offset = batch->last_offset() + 1;
  }
  co_return std::optional<std::int64_t>{};
}

std::optional<std::int64_t> first_record_reaching(const RecordBatchView& batch,
                                                  std::int64_t timestamp) {
  // Records that do not decode (an unknown codec, say) leave the batch's base offset as the
  // answer: the consumer skips the earlier records itself.
  io::Result<std::vector<protocol::Record>> records = protocol::read_records(batch);
  if (!records) return batch.base_offset();
  for (const protocol::Record& record : *records) {
    if (record.timestamp_ms >= timestamp) return record.offset;
  }
  return batch.base_offset();
}

io::Task<io::Result<void>> Segment::truncate_from(std::int64_t offset) {
  if (offset >= next_offset_) co_return io::ok();
  io::Result<BatchPosition> found = co_await find_position(offset);
  if (!found) co_return std::move(found).error();
  io::Result<void> cut = co_await log_->truncate(found->position);
  if (!cut) co_return with_context(std::move(cut).error(), path(kLogSuffix));
  io::Result<void> synced = co_await log_->sync();
  if (!synced) co_return with_context(std::move(synced).error(), path(kLogSuffix));
  size_bytes_ = found->position;
  index_.truncate_to_position(static_cast<std::uint32_t>(found->position));
  next_offset_ =
      found->position == 0 ? options_.base_offset : std::min(found->base_offset, next_offset_);
  if (size_bytes_ == 0) first_batch_timestamp_ = -1;
  // A stale .index would describe bytes that are gone; its log_bytes check rejects it on open,
  // but remove it anyway so nothing trusts it.
  io::Result<void> removed = co_await fs_.remove(path(kIndexSuffix));
  if (!removed && removed.error().kind != io::ErrorKind::kNotFound) {
    co_return std::move(removed).error();
  }
  co_return io::ok();
}

io::Task<io::Result<void>> Segment::write_index() {
  io::Result<void> synced = co_await sync();
  if (!synced) co_return std::move(synced).error();
  IndexSummary summary{index_.max_timestamp(), next_offset_, size_bytes_};
  co_return co_await write_file_atomically(fs_, path(kIndexSuffix), index_.encode(summary));
}

io::Task<io::Result<void>> Segment::close() {
  io::Result<void> closed = co_await log_->close();
  if (!closed) co_return with_context(std::move(closed).error(), path(kLogSuffix));
  co_return io::ok();
}

io::Task<io::Result<void>> Segment::remove() {
  io::Result<void> closed = co_await close();
  if (!closed) co_return std::move(closed).error();
  for (const char* suffix : {+kLogSuffix, +kIndexSuffix}) {
    io::Result<void> removed = co_await fs_.remove(path(suffix));
    if (!removed && removed.error().kind != io::ErrorKind::kNotFound) {
      co_return std::move(removed).error();
    }
  }
  co_return io::ok();
}

}  // namespace strand::storage
