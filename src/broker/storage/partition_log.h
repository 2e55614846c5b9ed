// A partition's durable log: record batches in offset order, in segments on an io::FileSystem.
// Offsets are dense from the log start offset to next_offset() - 1 (apart from gaps a compacted or
// truncated-then-rewritten log may have between batches). Appends are durable only after sync().
// After a crash the log reopens as a prefix of what was appended that holds everything synced;
// no torn or corrupt batch is ever returned by read().
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/record_batch.h"
#include "broker/storage/segment.h"
#include "broker/storage/segment_format.h"
#include "io/env.h"
#include "io/sync.h"
#include "io/task_scope.h"

namespace strand::storage {

// Kafka's names in comments; -1 means unlimited where it applies.
struct LogConfig {
  std::uint64_t segment_bytes = kSegmentBytesDefault;               // log.segment.bytes
  std::int64_t roll_ms = kRollMsDefault;                            // log.roll.ms
  std::int64_t retention_ms = kRetentionMsDefault;                  // log.retention.ms
  std::int64_t retention_bytes = -1;                                // log.retention.bytes
  std::uint32_t index_interval_bytes = kIndexIntervalBytesDefault;  // log.index.interval.bytes

  // Planted bugs (simulation tests only, builds with -Dsim_planted_bugs=true; see
  // BrokerConfig::planted_bug): sync() skips the fsync; retention also removes the active segment.
  bool planted_skip_sync = false;
  bool planted_retention_deletes_active_segment = false;

  // Simulation only: keeps every value legal but pushes it toward its edges (tiny segments, an
  // index entry per batch, short retention) so rare paths run in every swarm.
  void randomize_for_simulation(io::Random& random);
  // Sets the planted_* flag the name asks for; a no-op for other names and in normal builds.
  void plant_bug(const std::string& name);
};

struct AppendResult {
  std::int64_t base_offset;
  std::int64_t last_offset;
};

struct SegmentSummary {
  std::int64_t base_offset;
  std::int64_t next_offset;
  std::uint64_t size_bytes;
  std::int64_t max_timestamp;  // -1 when empty
};

struct RetentionResult {
  std::uint32_t segments_removed = 0;
  std::uint64_t bytes_removed = 0;
};

class PartitionLog {
 public:
  // Opens (creating if missing) the log in `directory`. After a clean close it reads only the
  // indexes; otherwise it validates the last segment batch by batch and cuts it at the first bad
  // batch. With `repair_from`, everything from the batch holding that offset on is dropped first,
  // whatever the high watermark was (a replica repairing a corrupt batch from its peers; also
  // cut earlier if an invalid batch comes first). Errors: I/O errors of the underlying files.
  static io::Task<io::Result<std::unique_ptr<PartitionLog>>> open(
      io::Env& env, std::string directory, LogConfig config,
      std::optional<std::int64_t> repair_from = {});

  // Validates one batch (for kClient: dense offsets, as a producer sends), assigns it the next
  // offsets, stamps `leader_epoch` (if >= 0) and appends it. Errors: kCorrupt naming the bad field
  // (nothing written), kInvalid (larger than segment.bytes), kNoSpace / kIoError (nothing
  // written; the log stays consistent and later appends may succeed), kIoError after a failed sync.
  io::Task<io::Result<AppendResult>> append(std::vector<std::byte> batch, std::int32_t leader_epoch,
                                            protocol::BatchOrigin origin);

  // Makes every append completed before this call durable. Concurrent callers share one sync
  // (group commit). A failed sync fails the log: appends and syncs then error until reopened.
  io::Task<io::Result<void>> sync();

  // Whole batches from the one holding `from_offset`, up to `bytes_max` bytes (at least one
  // batch), none with base offset >= `upper_offset` (default: all written). Empty at the end.
  // Errors: kOutOfRange below the log start offset or beyond next_offset(); kCorrupt if stored
  // bytes fail their CRC (never returned).
  io::Task<io::Result<std::vector<std::byte>>> read(std::int64_t from_offset,
                                                    std::uint32_t bytes_max,
                                                    std::optional<std::int64_t> upper_offset = {});

  // Drops every batch at or after `offset` (Raft's suffix truncation) and syncs the cut.
  // REQUIRES: offset >= high_watermark() and offset >= log_start_offset().
  io::Task<io::Result<void>> truncate_suffix(std::int64_t offset);

  // Moves the log start offset forward (DeleteRecords, followers catching up past retention),
  // durably, and removes segments that lie wholly below it.
  io::Task<io::Result<void>> advance_start_offset(std::int64_t offset);

  // Discards every batch and restarts the log empty at `offset` (Kafka's
  // truncateFullyAndStartAt: a follower whose log ends below the leader's log start offset).
  // Durable when it returns: a crash afterwards reopens an empty log at `offset`; a crash during
  // it reopens either the old log or that empty one. The high watermark becomes `offset`.
  // REQUIRES: offset >= 0. Errors: kInvalid unless offset > next_offset() (advance_start_offset()
  // covers the rest); I/O errors, after which the log fails until reopened.
  io::Task<io::Result<void>> truncate_fully_and_start_at(std::int64_t offset);

  // The offset of the first record with timestamp >= `timestamp`, if any (ListOffsets).
  io::Task<io::Result<std::optional<std::int64_t>>> offset_for_timestamp(std::int64_t timestamp);

  // Deletes whole closed segments, oldest first, while the rules allow: older than retention_ms
  // by their largest timestamp, or beyond retention_bytes in total. Never the active segment, nor
  // one holding offsets at or beyond `upper_offset` (a Raft log keeps what is not committed).
  io::Task<io::Result<RetentionResult>> apply_retention(
      std::int64_t now_wall_ms,
      std::int64_t upper_offset = std::numeric_limits<std::int64_t>::max());

  // Called with the offset the log start is about to move to, before any batch below it goes
  // (retention, DeleteRecords, a follower following its leader's log start or restarting past its
  // end), with the writer lock held: state derived from the log (the partition's producer
  // snapshot) folds in what is about to go. It may read the log, never write it; it reports its
  // own errors, and the move goes on regardless (retention must free space even when the disk is
  // too full for the hook's file).
  using StartMoveHook = std::function<io::Task<void>(std::int64_t new_start)>;
  void set_before_start_moves(StartMoveHook hook) { before_start_moves_ = std::move(hook); }

  // Seals the active segment and starts a new one (if the active one holds anything).
  io::Task<io::Result<void>> roll();

  // Syncs, writes the indexes and the clean-shutdown marker, and closes the files. The log can't
  // be used afterwards.
  io::Task<io::Result<void>> close();

  std::int64_t log_start_offset() const { return log_start_offset_; }
  std::int64_t next_offset() const;
  std::int64_t synced_offset() const { return synced_offset_; }
  std::int64_t high_watermark() const { return high_watermark_; }
  // REQUIRES: log_start_offset() <= offset <= next_offset(); never moves backwards.
  void set_high_watermark(std::int64_t offset);
  std::uint64_t size_bytes() const;
  std::size_t segments_count() const { return segments_.size(); }
  // Oldest first; the last one is the active segment.
  std::vector<SegmentSummary> segments() const;
  bool failed() const { return failed_; }
  bool opened_clean() const { return opened_clean_; }
  // If opening cut off a bad batch with intact batches behind it: the last of those
  // (Segment::lost_end(); a torn crash can leave such a tail too).
  const std::optional<LostEnd>& lost_end() const { return lost_end_; }
  const std::string& directory() const { return directory_; }

 private:
  // One append waiting to be written; shared by its appender and the drain, so either may go first.
  struct PendingAppend {
    std::vector<std::byte> batch;
    std::int32_t leader_epoch = -1;
    std::int32_t last_delta = 0;
    std::int64_t base_offset = -1;
    std::optional<io::Result<AppendResult>> result;
    io::Event done;
  };
  // One write carries at most this much of the appends waiting at once.
  static constexpr std::uint64_t kGroupBytesMax = 1u << 20;

  PartitionLog(io::Env& env, std::string directory, LogConfig config);
  io::Task<void> drain_appends();
  io::Task<void> write_group();
  io::Task<void> write_gathered(std::vector<std::shared_ptr<PendingAppend>>& group,
                                std::uint64_t group_bytes, std::int64_t now_ms);
  static void finish_append(PendingAppend& entry, io::Result<AppendResult> result);
  io::Task<io::Result<void>> load(std::optional<std::int64_t> repair_from);
  io::Task<io::Result<void>> roll_locked();
  io::Task<io::Result<void>> seal_and_start_segment();
  io::Task<io::Result<void>> truncate_locked(std::int64_t offset);
  io::Task<io::Result<void>> remove_oldest_segment();
  io::Task<io::Result<void>> restart_locked(std::int64_t offset);
  io::Task<io::Result<void>> remove_segments_below_start();
  Segment& active() const { return *segments_.rbegin()->second; }
  SegmentOptions segment_options(std::int64_t base_offset) const;
  void check_invariants() const;
  void check_offsets() const;  // the part of check_invariants() that does not walk the segments
  // Planted bug "skip_sync": sync() reports durability without the fsync.
  bool planted_skip_sync() const {
#ifdef STRAND_PLANTED_BUGS
    return config_.planted_skip_sync;
#else
    return false;
#endif
  }

  io::Task<void> before_start_moves(std::int64_t new_start);

  io::Env& env_;
  std::string directory_;
  LogConfig config_;
  StartMoveHook before_start_moves_;
  // Segments by base offset; shared so that a read in flight keeps its segment alive.
  std::map<std::int64_t, std::shared_ptr<Segment>> segments_;
  io::Mutex writer_;  // appends, rolls, truncation and retention change the structure
  io::Condition sync_done_;
  std::int64_t log_start_offset_ = 0;
  std::int64_t synced_offset_ = 0;
  std::int64_t high_watermark_ = 0;
  std::int64_t active_since_ms_ = 0;  // wall time of the active segment's first batch
  std::deque<std::shared_ptr<PendingAppend>> pending_;  // appends waiting for the drain
  bool draining_ = false;
  bool syncing_ = false;
  bool failed_ = false;
  bool opened_clean_ = false;
  std::optional<LostEnd> lost_end_;
  // Last member: destroyed first, so a drain in flight never outlives what it uses.
  io::TaskScope appenders_;
};

}  // namespace strand::storage
