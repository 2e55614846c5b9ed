// Compaction of __consumer_offsets, so its state does not grow without bound. Kafka's log cleaner
// rewrites a compacted topic's segments in place; a Raft log cannot be rewritten, so the
// coordinator that leads a partition writes the partition's live records (the latest value of
// every key, replayed from the log) again at the end of the log, and once they are committed moves
// the log start offset to the first of them. Replaying from any log start up to there gives the
// same state as replaying the whole log, so a crash between the two steps costs only space.
// Followers drop the prefix when they learn the leader's log start; segments wholly below the
// start are deleted.
#include <spdlog/spdlog.h>

#include <optional>

#include "broker/group/coordinator.h"

namespace strand::group {

namespace {

// A compaction writes the live records in batches of at most this many records or bytes.
constexpr std::size_t kRewriteBatchRecords = 1000;
constexpr std::size_t kRewriteBatchBytes = 256 * 1024;

}  // namespace

void Coordinator::grew(std::int32_t partition, std::uint64_t records, std::uint64_t bytes) {
  // A clustered partition is counted only while it is loaded here; a single node has them all.
  if (partitions_.clustered() && !growth_.contains(partition)) return;
  Growth& growth = growth_[partition];
  growth.records += records;
  growth.bytes += bytes;
  const bool due = !growth.compacting && growth.bytes >= growth.retry_at_bytes &&
                   growth.bytes >= growth.compacted_bytes + config_.offsets_topic_segment_bytes &&
                   growth.records >= 2 * growth.live_records;
  const std::int32_t epoch = loaded_epoch(partition);
  if (!due || epoch < 0 || !accepting_) return;
  growth.compacting = true;
  writes_.spawn(compact(partition, epoch));
}

io::Task<void> Coordinator::compact(std::int32_t index, std::int32_t epoch) {
  std::shared_ptr<cluster::Partition> target =
      partitions_.find(storage::TopicPartition{kOffsetsTopic, index});
  ReplayResult state;
  io::Result<Replayed> replayed = io::Error{io::ErrorKind::kNotFound, "partition is gone"};
  if (target) {
    // The committed bulk of the log does not change: read it without holding up writes.
    io::Result<Replayed> bulk =
        co_await replay_range(*target, target->log_start_offset(), target->high_watermark(), state);
    replayed = std::move(bulk);
  }
  io::Mutex::Guard guard = co_await write_lock(index).lock();
  // Every write before this one is answered now. A failed one may have left records beyond the
  // high watermark that can still commit; they would come before the live records and be
  // overwritten by them, so wait for a log without any.
  const bool ready = replayed.ok() && loaded_epoch(index) == epoch &&
                     target->high_watermark() == target->log_end_offset();
  io::Result<void> rewritten = io::ok();
  if (ready) {
    io::Result<Replayed> tail =
        co_await replay_range(*target, replayed->next, target->high_watermark(), state);
    if (tail) {
      prune_empty(state);
      io::Result<void> done = co_await rewrite_live(index, epoch, *target, state);
      rewritten = std::move(done);
    } else {
      rewritten = std::move(tail).error();
    }
  } else if (!replayed.ok()) {
    rewritten = std::move(replayed).error();
  }
  if (!rewritten) {
    spdlog::warn("group coordinator: compacting {}-{}: {}", kOffsetsTopic, index,
                 rewritten.error().to_string());
  }
  auto it = growth_.find(index);
  if (it != growth_.end()) {
    it->second.compacting = false;
    // Not compacted (the log had an uncommitted tail, or a write failed): not at every write.
    if (!ready || !rewritten) {
      it->second.retry_at_bytes = it->second.bytes + config_.offsets_topic_segment_bytes / 8;
    }
  }
}

// Writes every live record of `state` and moves the log start to the first of them (to the end
// of the log if nothing is live). REQUIRES: the partition's write lock is held.
io::Task<io::Result<void>> Coordinator::rewrite_live(std::int32_t index, std::int32_t epoch,
                                                     cluster::Partition& target,
                                                     const ReplayResult& state) {
  const std::int64_t wall_ms = env_.clock().wall_ms();
  std::vector<protocol::Record> live;
  auto add = [&](std::string key, std::string value) {
    protocol::Record& record = live.emplace_back();
    record.key = std::move(key);
    record.value = std::move(value);
    record.timestamp_ms = wall_ms;
  };
  for (const auto& [group_id, loaded] : state.groups) {
    if (loaded.metadata) add(encode_key(GroupKey{group_id}), encode_group_value(*loaded.metadata));
    for (const auto& [tp, value] : loaded.offsets.all()) {
      add(encode_key(OffsetKey{group_id, tp.topic, tp.partition}), encode_offset_value(value));
    }
  }
  const std::int64_t start_before = target.log_start_offset();
  const std::uint64_t bytes_before = growth_[index].bytes;
  std::optional<std::int64_t> first_offset;
  for (std::size_t next = 0; next < live.size();) {
    std::vector<protocol::Record> batch;
    std::size_t batch_bytes = 0;
    while (next < live.size() && batch.size() < kRewriteBatchRecords &&
           batch_bytes < kRewriteBatchBytes) {
      batch_bytes += live[next].key->size() + live[next].value->size();
      batch.push_back(std::move(live[next++]));
    }
    io::Result<storage::AppendResult> appended = co_await append_records(index, std::move(batch));
    if (!appended) co_return std::move(appended).error();
    if (!first_offset) first_offset = appended->base_offset;
  }
  if (loaded_epoch(index) != epoch) {
    co_return io::Error{io::ErrorKind::kUnavailable, "the leadership moved while compacting"};
  }
  const std::int64_t new_start = first_offset.value_or(target.high_watermark());
  io::Result<std::int64_t> start = co_await target.delete_records_before(new_start);
  if (!start) co_return std::move(start).error();
  Growth& growth = growth_[index];
  const std::uint64_t written_bytes = growth.bytes - bytes_before;
  growth.records = live.size();
  growth.bytes = written_bytes;
  growth.live_records = live.size();
  growth.compacted_bytes = written_bytes;
  spdlog::info(
      "group coordinator: compacted {}-{}: {} records replayed, {} live; log start {} -> {}",
      kOffsetsTopic, index, state.records, live.size(), start_before, *start);
  co_return io::ok();
}

}  // namespace strand::group
