#include "broker/storage/partition_log.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "broker/protocol/byte_order.h"
#include "broker/storage/atomic_file.h"

namespace strand::storage {

using protocol::RecordBatchView;

namespace {

// "00000000000000000042.log" -> 42; anything else (temp files, indexes, markers) -> nullopt.
std::optional<std::int64_t> parse_segment_name(const std::string& name) {
  const std::size_t suffix_bytes = std::strlen(kLogSuffix);
  if (name.size() != kSegmentNameDigits + suffix_bytes) return std::nullopt;
  if (name.compare(kSegmentNameDigits, suffix_bytes, kLogSuffix) != 0) return std::nullopt;
  std::int64_t base = 0;
  auto [end, error] = std::from_chars(name.data(), name.data() + kSegmentNameDigits, base);
  if (error != std::errc{} || end != name.data() + kSegmentNameDigits || base < 0) {
    return std::nullopt;
  }
  return base;
}

std::vector<std::byte> encode_offset(std::int64_t offset) {
  std::vector<std::byte> bytes(8);
  protocol::store_be<std::int64_t>(bytes.data(), offset);
  return bytes;
}

io::Error out_of_range(std::int64_t offset, std::int64_t start, std::int64_t end) {
  return io::Error{io::ErrorKind::kOutOfRange, "offset " + std::to_string(offset) +
                                                   " is outside the log [" + std::to_string(start) +
                                                   ", " + std::to_string(end) + "]"};
}

}  // namespace

void LogConfig::plant_bug(const std::string& name) {
#ifdef STRAND_PLANTED_BUGS
  planted_skip_sync = name == "skip_sync";
  planted_retention_deletes_active_segment = name == "retention_deletes_active_segment";
#else
  (void)name;
#endif
}

void LogConfig::randomize_for_simulation(io::Random& random) {
  if (random.chance(0.5))
    segment_bytes = static_cast<std::uint64_t>(random.between(512, 64 * 1024));
  if (random.chance(0.5))
    index_interval_bytes = static_cast<std::uint32_t>(random.between(1, 8192));
  if (random.chance(0.3)) retention_bytes = random.between(4 * 1024, 1024 * 1024);
  if (random.chance(0.3)) retention_ms = random.between(1'000, 600'000);
  if (random.chance(0.3)) roll_ms = random.between(100, 60'000);
}

PartitionLog::PartitionLog(io::Env& env, std::string directory, LogConfig config)
    : env_(env), directory_(std::move(directory)), config_(config) {}

SegmentOptions PartitionLog::segment_options(std::int64_t base_offset) const {
  return SegmentOptions{directory_, base_offset, config_.index_interval_bytes};
}

std::int64_t PartitionLog::next_offset() const { return active().next_offset(); }

std::uint64_t PartitionLog::size_bytes() const {
  std::uint64_t total = 0;
  for (const auto& [base, segment] : segments_) total += segment->size_bytes();
  return total;
}

std::vector<SegmentSummary> PartitionLog::segments() const {
  std::vector<SegmentSummary> summaries;
  for (const auto& [base, segment] : segments_) {
    summaries.push_back(
        {base, segment->next_offset(), segment->size_bytes(), segment->max_timestamp()});
  }
  return summaries;
}

void PartitionLog::set_high_watermark(std::int64_t offset) {
  STRAND_ASSERT(offset >= high_watermark_, "the high watermark never moves back");
  STRAND_ASSERT(offset <= next_offset(), "the high watermark never passes the log end");
  high_watermark_ = offset;
}

void PartitionLog::check_offsets() const {
  STRAND_ASSERT(!segments_.empty(), "a log always has an active segment");
  STRAND_ASSERT(log_start_offset_ <= next_offset(), "start never passes the end");
  STRAND_ASSERT(synced_offset_ <= next_offset(), "cannot have synced what was not written");
  STRAND_ASSERT(high_watermark_ <= next_offset(), "cannot commit what was not written");
}

void PartitionLog::check_invariants() const {
  check_offsets();
  std::int64_t previous_end = -1;
  for (const auto& [base, segment] : segments_) {
    STRAND_ASSERT(base == segment->base_offset(), "segments are keyed by base offset");
    STRAND_ASSERT(base >= previous_end, "segments do not overlap");
    previous_end = segment->next_offset();
  }
}

io::Task<io::Result<std::unique_ptr<PartitionLog>>> PartitionLog::open(
    io::Env& env, std::string directory, LogConfig config,
    std::optional<std::int64_t> repair_from) {
  std::unique_ptr<PartitionLog> log(new PartitionLog(env, std::move(directory), config));
  io::Result<void> loaded = co_await log->load(repair_from);
  if (!loaded) co_return with_context(std::move(loaded).error(), log->directory_);
  log->check_invariants();
  co_return log;
}

io::Task<io::Result<void>> PartitionLog::load(std::optional<std::int64_t> repair_from) {
  io::FileSystem& fs = env_.fs();
  io::Result<void> made = co_await fs.make_dirs(directory_);
  if (!made) co_return std::move(made).error();
  io::Result<std::vector<std::string>> names = co_await fs.list(directory_);
  if (!names) co_return std::move(names).error();
  std::vector<std::int64_t> bases;
  for (const std::string& name : *names) {
    if (std::optional<std::int64_t> base = parse_segment_name(name)) bases.push_back(*base);
    if (name == kCleanShutdownName) opened_clean_ = true;
  }
  std::sort(bases.begin(), bases.end());
  if (opened_clean_) {
    // Remove the marker durably before anything changes, so a crash from now on is recovered.
    io::Result<void> removed = co_await fs.remove(io::join_path(directory_, kCleanShutdownName));
    if (!removed) co_return std::move(removed).error();
    io::Result<void> synced = co_await fs.sync_dir(directory_);
    if (!synced) co_return std::move(synced).error();
  }
  io::Result<std::optional<std::vector<std::byte>>> checkpoint =
      co_await read_small_file(fs, io::join_path(directory_, kLogStartOffsetName), 64);
  if (!checkpoint) co_return std::move(checkpoint).error();
  if (*checkpoint && (*checkpoint)->size() == 8) {
    log_start_offset_ = protocol::load_be<std::int64_t>((*checkpoint)->data());
  }
  // A repair keeps the segments below the one holding `repair_from` (the first one at least),
  // scans that one up to the offset, and removes the rest.
  std::size_t kept = bases.size();
  if (repair_from) {
    kept = 1;
    while (kept < bases.size() && bases[kept] < *repair_from) kept += 1;
    opened_clean_ = false;  // the cut is synced below like a recovered tail
  }
  for (std::size_t i = 0; i < bases.size(); ++i) {
    const bool last = i + 1 == kept;
    const SegmentRecovery recovery =
        last && !opened_clean_ ? SegmentRecovery::kScan : SegmentRecovery::kTrustIndex;
    io::Result<std::unique_ptr<Segment>> segment =
        co_await Segment::open(fs, segment_options(bases[i]), recovery,
                               repair_from && last ? *repair_from : Segment::kNoStop);
    if (!segment) co_return std::move(segment).error();
    if ((*segment)->lost_end()) lost_end_ = (*segment)->lost_end();
    if (i >= kept) {
      io::Result<void> removed = co_await (*segment)->remove();
      if (!removed) co_return std::move(removed).error();
      continue;
    }
    segments_.emplace(bases[i], std::shared_ptr<Segment>(std::move(*segment)));
  }
  if (kept < bases.size()) {
    io::Result<void> synced = co_await fs.sync_dir(directory_);
    if (!synced) co_return std::move(synced).error();
  }
  // The checkpointed log start is the authority. Beyond every segment's end, the log was
  // restarted there (truncate_fully_and_start_at) or its unsynced tail was lost after the start
  // moved: every segment is below it. Segments wholly below it are leftovers of an interrupted
  // move. Either way they go, so offsets below the start are never served or reused.
  io::Result<void> cleaned = co_await remove_segments_below_start();
  if (!cleaned) co_return std::move(cleaned).error();
  if (segments_.empty()) {
    io::Result<std::unique_ptr<Segment>> created =
        co_await Segment::create(fs, segment_options(log_start_offset_));
    if (!created) co_return std::move(created).error();
    segments_.emplace(log_start_offset_, std::shared_ptr<Segment>(std::move(*created)));
  }
  log_start_offset_ = std::max(log_start_offset_, segments_.begin()->first);
  log_start_offset_ = std::min(log_start_offset_, next_offset());
  // After a process crash, recovered bytes may still sit only in the page cache; sync them once so
  // that everything the log now serves is durable, and count it as synced.
  if (!opened_clean_) {
    io::Result<void> synced = co_await active().sync();
    if (!synced) co_return std::move(synced).error();
  }
  synced_offset_ = next_offset();
  high_watermark_ = log_start_offset_;
  active_since_ms_ = env_.clock().wall_ms();  // a restart delays a time roll by at most roll.ms
  co_return io::ok();
}

io::Task<io::Result<AppendResult>> PartitionLog::append(std::vector<std::byte> batch,
                                                        std::int32_t leader_epoch,
                                                        protocol::BatchOrigin origin) {
  io::Result<RecordBatchView> parsed = RecordBatchView::parse(batch, origin);
  if (!parsed) co_return std::move(parsed).error();
  if (batch.size() > config_.segment_bytes) {
    co_return io::Error{io::ErrorKind::kInvalid, "batch of " + std::to_string(batch.size()) +
                                                     " bytes is larger than segment.bytes " +
                                                     std::to_string(config_.segment_bytes)};
  }
  auto entry = std::make_shared<PendingAppend>();
  entry->last_delta = parsed->last_offset_delta();
  entry->leader_epoch = leader_epoch;
  entry->batch = std::move(batch);
  pending_.push_back(entry);
  // The drain runs in the log's own scope, so an appender that goes away can't strand the others.
  if (!draining_) {
    draining_ = true;
    appenders_.spawn(drain_appends());
  }
  if (!entry->result) co_await entry->done.wait();
  co_return std::move(*entry->result);
}

io::Task<void> PartitionLog::drain_appends() {
  for (std::uint64_t groups = 0; !pending_.empty(); ++groups) {
    STRAND_ASSERT(groups < (1ull << 40), "every group takes at least one append");
    io::Mutex::Guard guard = co_await writer_.lock();
    co_await write_group();
  }
  draining_ = false;
}

void PartitionLog::finish_append(PendingAppend& entry, io::Result<AppendResult> result) {
  entry.result.emplace(std::move(result));
  entry.done.set();
}

// Takes the appends waiting now, in order, up to a segment boundary or kGroupBytesMax, assigns
// their offsets and writes them with one File::append: many producers, one write (and later one
// sync). REQUIRES: the writer lock is held.
io::Task<void> PartitionLog::write_group() {
  const std::int64_t now_ms = env_.clock().wall_ms();
  std::vector<std::shared_ptr<PendingAppend>> group;
  std::uint64_t group_bytes = 0;
  std::int64_t next = next_offset();
  // Each pass takes an append into the group, fails one, or rolls (and a roll is followed by a
  // take or a failure), so the passes are bounded by twice the appends handled, plus one.
  std::size_t failed_count = 0;
  for (std::size_t passes = 0; !pending_.empty(); ++passes) {
    STRAND_ASSERT(passes <= 2 * (group.size() + failed_count) + 1, "each pass takes or stops");
    PendingAppend& entry = *pending_.front();
    if (failed_) {
      finish_append(entry, io::Error{io::ErrorKind::kIoError,
                                     directory_ + ": log failed; restart to recover"});
      pending_.pop_front();
      failed_count += 1;
      continue;
    }
    const bool empty = active().empty() && group.empty();
    const bool full =
        active().size_bytes() + group_bytes + entry.batch.size() > config_.segment_bytes;
    // Age is judged by this broker's clock since the segment got its first batch, not by record
    // timestamps: a producer sending old timestamps must not make every append roll a segment.
    const bool old = config_.roll_ms >= 0 && now_ms - active_since_ms_ > config_.roll_ms;
    if (!empty && (full || old)) {
      if (!group.empty()) break;  // write what is gathered; the next group rolls first
      io::Result<void> rolled = co_await roll_locked();
      if (!rolled) finish_append(entry, std::move(rolled).error());
      if (!rolled) pending_.pop_front();
      if (!rolled) failed_count += 1;
      next = next_offset();
      continue;
    }
    if (!group.empty() && group_bytes + entry.batch.size() > kGroupBytesMax) break;
    entry.base_offset = next;
    protocol::set_base_offset(entry.batch, next);
    if (entry.leader_epoch >= 0)
      protocol::set_partition_leader_epoch(entry.batch, entry.leader_epoch);
    next += entry.last_delta + 1;
    group_bytes += entry.batch.size();
    group.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
  if (group.empty()) co_return;
  co_await write_gathered(group, group_bytes, now_ms);
}

io::Task<void> PartitionLog::write_gathered(std::vector<std::shared_ptr<PendingAppend>>& group,
                                            std::uint64_t group_bytes, std::int64_t now_ms) {
  std::vector<std::byte> gathered;
  if (group.size() > 1) {
    gathered.reserve(group_bytes);
    for (const auto& entry : group) {
      gathered.insert(gathered.end(), entry->batch.begin(), entry->batch.end());
    }
  }
  const bool first_in_segment = active().empty();
  const std::int64_t base = group.front()->base_offset;
  STRAND_ASSERT(base == next_offset(), "a group continues the log");
  io::Result<void> written =
      co_await active().append(group.size() > 1 ? gathered : group.front()->batch);
  if (!written) {
    for (const auto& entry : group) finish_append(*entry, written.error());
    co_return;
  }
  if (first_in_segment) active_since_ms_ = now_ms;
  // An append changes only the active segment's end: no need to walk every segment.
  check_offsets();
  for (const auto& entry : group) {
    finish_append(*entry, AppendResult{entry->base_offset, entry->base_offset + entry->last_delta});
  }
  STRAND_ASSERT(next_offset() == group.back()->base_offset + group.back()->last_delta + 1,
                "offsets advance by the group's range");
}

io::Task<io::Result<void>> PartitionLog::sync() {
  const std::int64_t target = next_offset();
  // Bounded: each round either finishes a sync that covers more, or waits for one in flight.
  for (int rounds = 0; rounds < 1'000'000; ++rounds) {
    if (synced_offset_ >= target) co_return io::ok();
    if (failed_) co_return io::Error{io::ErrorKind::kIoError, directory_ + ": log failed"};
    if (syncing_) {
      co_await sync_done_.wait();
      continue;
    }
    syncing_ = true;
    const std::int64_t covering = next_offset();
    std::shared_ptr<Segment> segment = segments_.rbegin()->second;
    io::Result<void> synced = io::ok();
    if (!planted_skip_sync()) {
      io::Result<void> done = co_await segment->sync();
      synced = std::move(done);
    }
    syncing_ = false;
    if (!synced) {
      // After a failed fsync the kernel may have dropped the dirty pages: what was unsynced is
      // unknown, so no later append may be acknowledged on top of it.
      failed_ = true;
      sync_done_.notify_all();
      co_return std::move(synced).error();
    }
    synced_offset_ = std::max(synced_offset_, std::min(covering, next_offset()));
    sync_done_.notify_all();
  }
  STRAND_ASSERT(false, "group commit makes progress");
  co_return io::ok();
}

io::Task<io::Result<std::vector<std::byte>>> PartitionLog::read(
    std::int64_t from_offset, std::uint32_t bytes_max, std::optional<std::int64_t> upper_offset) {
  const std::int64_t end = next_offset();
  if (from_offset < log_start_offset_ || from_offset > end) {
    co_return out_of_range(from_offset, log_start_offset_, end);
  }
  const std::int64_t upper = std::min(upper_offset.value_or(end), end);
  std::vector<std::byte> out;
  auto it = segments_.upper_bound(from_offset);
  if (it != segments_.begin()) --it;
  for (; it != segments_.end() && out.empty() && from_offset < upper; ++it) {
    std::shared_ptr<Segment> segment = it->second;  // stays alive across the read
    if (segment->next_offset() <= from_offset) continue;
    io::Result<std::vector<std::byte>> bytes = co_await segment->read(from_offset, bytes_max);
    if (!bytes) co_return std::move(bytes).error();
    out = std::move(*bytes);
  }
  // Cut at the first batch that starts at or beyond `upper` (the high watermark for consumers).
  std::size_t kept = 0;
  for (std::size_t batches = 0; kept < out.size(); ++batches) {
    STRAND_ASSERT(batches <= out.size(), "batches have positive sizes");
    std::span<const std::byte> rest = std::span<const std::byte>(out).subspan(kept);
    // Segment::read returns whole, checked batches only.
    const std::span<const std::byte> batch = protocol::next_batch(rest).value();
    if (protocol::load_be<std::int64_t>(batch.data()) >= upper) break;
    kept += batch.size();
  }
  out.resize(kept);
  co_return out;
}

io::Task<io::Result<void>> PartitionLog::truncate_suffix(std::int64_t offset) {
  io::Mutex::Guard guard = co_await writer_.lock();
  io::Result<void> done = co_await truncate_locked(offset);
  // Half a truncation is not something to append after: fail until a restart recovers the files.
  if (!done) failed_ = true;
  co_return done;
}

io::Task<io::Result<void>> PartitionLog::truncate_locked(std::int64_t offset) {
  STRAND_ASSERT(offset >= high_watermark_, "committed data is never truncated");
  STRAND_ASSERT(offset >= log_start_offset_, "truncation stays above the log start");
  if (offset >= next_offset()) co_return io::ok();
  // Whole segments at or beyond the cut go, newest first, but the first segment always stays.
  for (std::size_t removals = 0; segments_.size() > 1 && segments_.rbegin()->first >= offset;
       ++removals) {
    STRAND_ASSERT(removals < 1'000'000, "bounded by the segment count");
    std::shared_ptr<Segment> doomed = segments_.rbegin()->second;
    segments_.erase(std::prev(segments_.end()));
    io::Result<void> removed = co_await doomed->remove();
    if (!removed) co_return std::move(removed).error();
  }
  io::Result<void> cut = co_await active().truncate_from(offset);
  if (!cut) co_return std::move(cut).error();
  io::Result<void> dir_synced = co_await env_.fs().sync_dir(directory_);
  if (!dir_synced) co_return std::move(dir_synced).error();
  synced_offset_ = std::min(synced_offset_, next_offset());
  check_invariants();
  co_return io::ok();
}

io::Task<io::Result<void>> PartitionLog::advance_start_offset(std::int64_t offset) {
  io::Mutex::Guard guard = co_await writer_.lock();
  if (offset <= log_start_offset_) co_return io::ok();
  if (offset > next_offset()) co_return out_of_range(offset, log_start_offset_, next_offset());
  co_await before_start_moves(offset);
  // Durable first: if we crash after removing segments, the checkpoint must already say so.
  io::Result<void> written = co_await write_file_atomically(
      env_.fs(), io::join_path(directory_, kLogStartOffsetName), encode_offset(offset));
  if (!written) co_return std::move(written).error();
  log_start_offset_ = offset;
  high_watermark_ = std::max(high_watermark_, offset);
  for (std::size_t removals = 0;
       segments_.size() > 1 && std::next(segments_.begin())->first <= offset; ++removals) {
    STRAND_ASSERT(removals < 1'000'000, "bounded by the segment count");
    io::Result<void> removed = co_await remove_oldest_segment();
    if (!removed) co_return std::move(removed).error();
  }
  check_invariants();
  co_return io::ok();
}

io::Task<io::Result<void>> PartitionLog::remove_segments_below_start() {
  if (segments_.empty()) co_return io::ok();
  bool removed_any = false;
  const bool all_below = segments_.rbegin()->second->next_offset() < log_start_offset_;
  for (std::size_t removals = 0; !segments_.empty(); ++removals) {
    STRAND_ASSERT(removals < 1'000'000, "bounded by the segment count");
    const bool below = all_below || (segments_.size() > 1 &&
                                     std::next(segments_.begin())->first <= log_start_offset_);
    if (!below) break;
    std::shared_ptr<Segment> doomed = segments_.begin()->second;
    segments_.erase(segments_.begin());
    io::Result<void> removed = co_await doomed->remove();
    if (!removed) co_return std::move(removed).error();
    removed_any = true;
  }
  if (!removed_any) co_return io::ok();
  co_return co_await env_.fs().sync_dir(directory_);
}

io::Task<io::Result<void>> PartitionLog::truncate_fully_and_start_at(std::int64_t offset) {
  STRAND_ASSERT(offset >= 0, "offsets are not negative");
  io::Mutex::Guard guard = co_await writer_.lock();
  if (offset <= next_offset()) {
    co_return io::Error{io::ErrorKind::kInvalid,
                        directory_ + ": restart at " + std::to_string(offset) +
                            " is not beyond the log end " + std::to_string(next_offset())};
  }
  co_await before_start_moves(offset);
  io::Result<void> done = co_await restart_locked(offset);
  // Half a restart is not something to append after: fail until a reopen finishes it.
  if (!done) failed_ = true;
  co_return done;
}

// The log start checkpoint is the commit point: once it is durable, every old segment lies below
// it, so open() discards whatever of them a crash leaves and starts empty at the checkpoint.
io::Task<io::Result<void>> PartitionLog::restart_locked(std::int64_t offset) {
  io::Result<void> written = co_await write_file_atomically(
      env_.fs(), io::join_path(directory_, kLogStartOffsetName), encode_offset(offset));
  if (!written) co_return std::move(written).error();
  io::Result<std::unique_ptr<Segment>> created =
      co_await Segment::create(env_.fs(), segment_options(offset));
  if (!created) co_return std::move(created).error();
  segments_.emplace(offset, std::shared_ptr<Segment>(std::move(*created)));
  log_start_offset_ = offset;
  high_watermark_ = offset;
  synced_offset_ = offset;
  active_since_ms_ = env_.clock().wall_ms();
  io::Result<void> removed = co_await remove_segments_below_start();
  if (!removed) co_return std::move(removed).error();
  STRAND_ASSERT(segments_.size() == 1 && next_offset() == offset, "one empty segment remains");
  check_invariants();
  co_return io::ok();
}

io::Task<io::Result<void>> PartitionLog::remove_oldest_segment() {
  STRAND_ASSERT(segments_.size() > 1, "the active segment is never removed");
  std::shared_ptr<Segment> doomed = segments_.begin()->second;
  segments_.erase(segments_.begin());
  io::Result<void> removed = co_await doomed->remove();
  if (!removed) co_return std::move(removed).error();
  co_return co_await env_.fs().sync_dir(directory_);
}

io::Task<io::Result<std::optional<std::int64_t>>> PartitionLog::offset_for_timestamp(
    std::int64_t timestamp) {
  std::vector<std::shared_ptr<Segment>> candidates;
  for (const auto& [base, segment] : segments_) {
    if (segment->max_timestamp() >= timestamp) candidates.push_back(segment);
  }
  for (const std::shared_ptr<Segment>& segment : candidates) {
    io::Result<std::optional<std::int64_t>> found =
        co_await segment->offset_for_timestamp(timestamp);
    if (!found) co_return std::move(found).error();
    if (*found && **found >= log_start_offset_) co_return *found;
    if (*found) co_return std::optional<std::int64_t>{log_start_offset_};
  }
  co_return std::optional<std::int64_t>{};
}

io::Task<io::Result<RetentionResult>> PartitionLog::apply_retention(std::int64_t now_wall_ms,
                                                                    std::int64_t upper_offset) {
  io::Mutex::Guard guard = co_await writer_.lock();
  RetentionResult result;
#ifdef STRAND_PLANTED_BUGS
  // Planted bug: "never the active segment" forgotten; an expired active segment is sealed so the
  // loop below removes it like any other, with every acknowledged record in it.
  const Segment& newest = active();
  if (config_.planted_retention_deletes_active_segment && segments_.size() == 1 &&
      !newest.empty() && config_.retention_ms >= 0 && newest.max_timestamp() >= 0 &&
      now_wall_ms - newest.max_timestamp() > config_.retention_ms) {
    io::Result<void> rolled = co_await roll_locked();
    if (!rolled) co_return std::move(rolled).error();
  }
#endif
  // Which segments go, oldest first; then the hook sees the new log start before any of them does.
  std::uint64_t total_bytes = size_bytes();
  std::size_t doomed = 0;
  std::uint64_t left_bytes = total_bytes;
  for (auto it = segments_.begin(); std::next(it) != segments_.end(); ++it) {
    const Segment& oldest = *it->second;
    const bool expired = config_.retention_ms >= 0 && oldest.max_timestamp() >= 0 &&
                         now_wall_ms - oldest.max_timestamp() > config_.retention_ms;
    const bool oversized =
        config_.retention_bytes >= 0 &&
        left_bytes - oldest.size_bytes() >= static_cast<std::uint64_t>(config_.retention_bytes);
    if ((!expired && !oversized) || oldest.next_offset() > upper_offset) break;
    left_bytes -= oldest.size_bytes();
    doomed += 1;
  }
  if (doomed > 0) co_await before_start_moves(std::next(segments_.begin(), doomed)->first);
  for (std::size_t removals = 0; removals < doomed; ++removals) {
    STRAND_ASSERT(segments_.size() > 1, "the active segment is never removed");
    const Segment& oldest = *segments_.begin()->second;
    const std::uint64_t bytes = oldest.size_bytes();
    io::Result<void> removed = co_await remove_oldest_segment();
    if (!removed) co_return std::move(removed).error();
    total_bytes -= bytes;
    result.segments_removed += 1;
    result.bytes_removed += bytes;
  }
  if (result.segments_removed > 0) {
    log_start_offset_ = std::max(log_start_offset_, segments_.begin()->first);
    high_watermark_ = std::max(high_watermark_, std::min(log_start_offset_, next_offset()));
  }
  check_invariants();
  co_return result;
}

io::Task<void> PartitionLog::before_start_moves(std::int64_t new_start) {
  if (before_start_moves_) co_await before_start_moves_(new_start);
}

io::Task<io::Result<void>> PartitionLog::roll() {
  io::Mutex::Guard guard = co_await writer_.lock();
  co_return co_await roll_locked();
}

io::Task<io::Result<void>> PartitionLog::roll_locked() {
  io::Result<void> rolled = co_await seal_and_start_segment();
  // Sealing syncs; after a failed sync what was unsynced is unknown.
  if (!rolled) failed_ = true;
  co_return rolled;
}

io::Task<io::Result<void>> PartitionLog::seal_and_start_segment() {
  if (active().empty()) co_return io::ok();
  // The sealed segment's data and index are durable before the next segment exists, so on open
  // every segment but the last can be trusted without a scan.
  io::Result<void> sealed = co_await active().write_index();
  if (!sealed) co_return std::move(sealed).error();
  synced_offset_ = std::max(synced_offset_, next_offset());
  const std::int64_t base = next_offset();
  io::Result<std::unique_ptr<Segment>> created =
      co_await Segment::create(env_.fs(), segment_options(base));
  if (!created) co_return std::move(created).error();
  segments_.emplace(base, std::shared_ptr<Segment>(std::move(*created)));
  check_invariants();
  co_return io::ok();
}

io::Task<io::Result<void>> PartitionLog::close() {
  io::Mutex::Guard guard = co_await writer_.lock();
  io::Result<void> indexed = co_await active().write_index();
  if (!indexed) co_return std::move(indexed).error();
  for (const auto& [base, segment] : segments_) {
    io::Result<void> closed = co_await segment->close();
    if (!closed) co_return std::move(closed).error();
  }
  co_return co_await write_file_atomically(env_.fs(), io::join_path(directory_, kCleanShutdownName),
                                           std::vector<std::byte>{});
}

}  // namespace strand::storage
