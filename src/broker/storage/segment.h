// One segment of a partition log: a .log file of record batches stored verbatim, and its sparse
// index. Only the last segment of a log is active (appended to); the others are sealed and their
// .index files are durable.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/record_batch.h"
#include "broker/storage/segment_index.h"
#include "io/file_system.h"

namespace strand::storage {

struct SegmentOptions {
  std::string directory;  // the partition's directory
  std::int64_t base_offset = 0;
  std::uint32_t index_interval_bytes = 4096;
};

// How much to trust what is on disk when opening.
enum class SegmentRecovery : std::uint8_t {
  kTrustIndex,  // sealed or cleanly closed: load the .index; scan only if it is missing or bad
  kScan,        // possibly torn: validate every batch, truncate at the first bad one
};

// The last intact batch a recovery cut off behind a bad one. A crash tears unsynced sectors in any
// order, so this is no proof of corruption: only an upper bound of what the log held.
struct LostEnd {
  std::int64_t last_offset = -1;
  std::int32_t leader_epoch = -1;
};

struct BatchPosition {
  std::uint64_t position;    // byte position of the batch in the .log file
  std::int64_t base_offset;  // its base offset
};

std::string segment_file_name(std::int64_t base_offset, const char* suffix);

// The offset of the first record in `batch` whose timestamp >= `timestamp`.
std::optional<std::int64_t> first_record_reaching(const protocol::RecordBatchView& batch,
                                                  std::int64_t timestamp);

class Segment {
 public:
  // Creates an empty segment (and makes its name durable).
  static io::Task<io::Result<std::unique_ptr<Segment>>> create(io::FileSystem& fs,
                                                               SegmentOptions options);
  // Opens an existing segment, recovering it as `recovery` says. A scan truncates the file at the
  // first invalid batch, or at the first batch holding an offset >= `scan_stop_offset` (a repair
  // cutting off what a peer will send again), and syncs the truncation.
  static constexpr std::int64_t kNoStop = INT64_MAX;
  static io::Task<io::Result<std::unique_ptr<Segment>>> open(
      io::FileSystem& fs, SegmentOptions options, SegmentRecovery recovery,
      std::int64_t scan_stop_offset = kNoStop);

  // Appends whole batches, back to back, whose headers already carry their final base offsets,
  // with one write. REQUIRES: increasing offsets from next_offset(). Written, not durable: sync().
  io::Task<io::Result<void>> append(std::span<const std::byte> batches);
  io::Task<io::Result<void>> sync();

  // Whole batches whose last offset >= `from_offset`, starting with the one holding it, up to
  // `bytes_max` bytes but always at least one batch (as Kafka's fetch does). Empty if none.
  // Every returned batch passed its CRC check; a failing one makes the read fail with kCorrupt.
  io::Task<io::Result<std::vector<std::byte>>> read(std::int64_t from_offset,
                                                    std::uint32_t bytes_max);

  // The base offset of the first batch whose max timestamp >= `timestamp`, if any.
  io::Task<io::Result<std::optional<std::int64_t>>> offset_for_timestamp(std::int64_t timestamp);

  // Drops every batch with base offset >= `offset` (a whole batch containing `offset` goes too).
  io::Task<io::Result<void>> truncate_from(std::int64_t offset);

  // Syncs the log and writes the .index durably. After this the segment opens with kTrustIndex.
  io::Task<io::Result<void>> write_index();

  // Closes the file, then removes both files (the caller syncs the directory).
  io::Task<io::Result<void>> remove();
  io::Task<io::Result<void>> close();

  std::int64_t base_offset() const { return options_.base_offset; }
  std::int64_t next_offset() const { return next_offset_; }
  std::uint64_t size_bytes() const { return size_bytes_; }
  std::int64_t max_timestamp() const { return index_.max_timestamp(); }
  std::int64_t first_batch_timestamp() const { return first_batch_timestamp_; }
  bool empty() const { return size_bytes_ == 0; }
  // If opening it cut off a bad batch with intact batches behind it: the last of those (torn
  // unsynced sectors, or corrupted synced bytes: the caller tells them apart, see LostEnd).
  const std::optional<LostEnd>& lost_end() const { return lost_end_; }
  const SegmentIndex& index() const { return index_; }

 private:
  Segment(io::FileSystem& fs, SegmentOptions options, std::unique_ptr<io::File> file);
  io::Task<io::Result<void>> scan_and_truncate(std::int64_t stop_offset);
  io::Task<io::Result<bool>> load_index();
  // The last of the intact batches beyond next_offset() found from byte `from` on, if any.
  io::Task<io::Result<std::optional<LostEnd>>> last_intact_after(std::uint64_t from,
                                                                 std::uint64_t file_bytes);
  io::Task<io::Result<std::vector<std::byte>>> read_range(std::uint64_t position,
                                                          std::uint64_t length);
  io::Task<io::Result<BatchPosition>> find_position(std::int64_t offset);
  void note_batch(std::span<const std::byte> header, std::uint32_t position, std::uint32_t size);
  std::string path(const char* suffix) const;

  io::FileSystem& fs_;
  SegmentOptions options_;
  std::unique_ptr<io::File> log_;
  SegmentIndex index_;
  std::int64_t next_offset_;
  std::uint64_t size_bytes_ = 0;  // end of the last whole batch
  std::int64_t first_batch_timestamp_ = -1;
  std::optional<LostEnd> lost_end_;
};

}  // namespace strand::storage
