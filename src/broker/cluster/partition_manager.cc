#include "broker/cluster/partition_manager.h"

#include <spdlog/spdlog.h>

#include <limits>

#include "broker/cluster/controller.h"
#include "broker/protocol/batch_builder.h"
#include "broker/protocol/byte_order.h"
#include "broker/protocol/record_batch.h"
#include "broker/protocol/topic_name.h"
#include "broker/storage/atomic_file.h"

namespace strand::cluster {

namespace {

constexpr std::size_t kCatalogBytesMax = 64u << 20;
constexpr std::int32_t kPartitionsPerTopicMax = 1 << 16;
// One read while rebuilding the producer state.
constexpr std::uint32_t kProducerScanBytes = 1u << 20;
// The producer-state rebuild reads at least this much of the log's tail (and the last two
// segments): a retry finds its first write if fewer bytes were appended after it meanwhile.
constexpr std::uint64_t kProducerStateScanBytesMin = 64u << 20;
// The producer snapshot file in each partition's log directory, and the most it may hold (about
// 150 bytes a producer).
constexpr char kProducerSnapshotName[] = "producer-state.snapshot";
constexpr std::size_t kProducerSnapshotBytesMax = 256u << 20;

TopicError error(protocol::ErrorCode code, std::string message) {
  return TopicError{code, std::move(message)};
}

TopicError storage_error(const io::Error& failure) {
  return error(protocol::ErrorCode::kKafkaStorageError, failure.to_string());
}

}  // namespace

Partition::Partition(io::Env& env, storage::TopicPartition tp, storage::PartitionLog& log,
                     io::Condition& data_arrived)
    : env_(env), tp_(std::move(tp)), log_(log), data_arrived_(data_arrived) {
  advance_high_watermark();
}

Partition::Partition(io::Env& env, storage::TopicPartition tp, raft::Replica& replica,
                     io::Condition& data_arrived)
    : env_(env),
      tp_(std::move(tp)),
      replica_(&replica),
      log_(replica.log()),
      data_arrived_(data_arrived) {}

raft::NodeId Partition::leader(raft::NodeId self) const {
  return replica_ ? replica_->leader() : self;
}

std::int32_t Partition::leader_epoch() const { return replica_ ? replica_->term() : 0; }

io::Result<void> Partition::check_leader() const {
  if (!replica_ || replica_->role() == raft::Role::kLeader) return io::ok();
  return io::Error{io::ErrorKind::kUnavailable,
                   tp_.topic + "-" + std::to_string(tp_.partition) + " is led by node " +
                       std::to_string(replica_->leader()) + ", not here"};
}

protocol::ErrorCode Partition::check_writable(Acks acks, std::int16_t min_insync_replicas) const {
  if (!replica_) return protocol::ErrorCode::kNone;
  if (replica_->role() != raft::Role::kLeader || replica_->failed()) {
    return protocol::ErrorCode::kNotLeaderOrFollower;
  }
  if (acks == Acks::kAll) {
    // Kafka's rule with Raft's in-sync set: the voters the leader heard from lately. Fewer than a
    // quorum can commit nothing, fewer than min.insync.replicas are refused by choice.
    const std::size_t in_sync =
        replica_->quorum_reachable() ? replica_->in_sync_replicas().size() : 0;
    if (!replica_->quorum_reachable() || in_sync < static_cast<std::size_t>(min_insync_replicas)) {
      return protocol::ErrorCode::kNotEnoughReplicas;
    }
  }
  return protocol::ErrorCode::kNone;
}

namespace {

io::Error propose_error(const storage::TopicPartition& tp, const raft::ProposeOutcome& outcome) {
  std::string what = tp.topic + "-" + std::to_string(tp.partition) + ": " +
                     raft::replica_error_name(outcome.error);
  switch (outcome.error) {
    case raft::ReplicaError::kNotLeader:
    case raft::ReplicaError::kLost:
    case raft::ReplicaError::kBackpressure:
      return io::Error{io::ErrorKind::kUnavailable,
                       what + " (leader now " + std::to_string(outcome.leader) + ")"};
    case raft::ReplicaError::kInvalidBatch:
      return io::Error{io::ErrorKind::kCorrupt, what};
    case raft::ReplicaError::kTimeout:
      return io::Error{io::ErrorKind::kTimeout, what};
    default:
      return io::Error{io::ErrorKind::kIoError, what};
  }
}

}  // namespace

// Normally quiesced first; a simulated crash destroys it with work in flight, which the scope
// cancels.
Partition::~Partition() = default;

io::Task<io::Result<storage::AppendResult>> Partition::append(std::vector<std::byte> batch,
                                                              Acks acks, io::Duration timeout) {
  if (closing_) co_return io::Error{io::ErrorKind::kNotFound, "partition is being deleted"};
  if (replica_) {
    raft::ProposeOutcome outcome = co_await propose(std::move(batch), acks, timeout);
    if (!outcome.ok()) co_return propose_error(tp_, outcome);
    co_return storage::AppendResult{outcome.base_offset, outcome.last_offset};
  }
  io::Result<storage::AppendResult> appended = co_await append_local(std::move(batch), acks);
  co_return std::move(appended);
}

io::Task<raft::ProposeOutcome> Partition::propose(std::vector<std::byte> batch, Acks acks,
                                                  io::Duration timeout) {
  operations_in_flight_ += 1;
  const raft::Acks raft_acks = acks == Acks::kAll ? raft::Acks::kAll : raft::Acks::kLeader;
  raft::ProposeOutcome outcome = co_await replica_->propose(std::move(batch), raft_acks, timeout);
  operations_in_flight_ -= 1;
  operation_done_.notify_all();
  co_return outcome;
}

io::Task<io::Result<storage::AppendResult>> Partition::append_local(std::vector<std::byte> batch,
                                                                    Acks acks) {
  operations_in_flight_ += 1;
  io::Result<storage::AppendResult> appended =
      co_await log_.append(std::move(batch), 0, protocol::BatchOrigin::kClient);
  if (appended && acks == Acks::kAll && !planted_ack_before_sync_) {
    // Durable before acknowledged: a crash after the answer must not lose the batch.
    io::Result<void> synced = co_await log_.sync();
    advance_high_watermark();
    if (!synced) appended = std::move(synced).error();
  } else if (appended) {
    schedule_flush();
  }
  operations_in_flight_ -= 1;
  operation_done_.notify_all();
  co_return std::move(appended);
}

io::Task<Partition::Produced> Partition::produce(std::vector<std::byte> batch, Acks acks,
                                                 io::Duration timeout) {
  Produced produced;
  const ProducerBatch producer =
      batch.size() >= protocol::kBatchHeaderBytes ? ProducerBatch::of(batch) : ProducerBatch{};
  auto leading = [this] { return !replica_ || replica_->role() == raft::Role::kLeader; };
  // Every idempotent batch waits here, in arrival order, until the producer state of this
  // leadership is rebuilt from the log; the rebuild runs on its own, so that no batch checks
  // before an earlier one of the same producer.
  for (std::uint64_t rounds = 0;
       producer.id >= 0 && leading() && !closing_ && !producer_state_current(); ++rounds) {
    STRAND_ASSERT(rounds < (1ull << 40), "every round waits for a rebuild");
    if (!producers_loading_) {
      producers_loading_ = true;
      background_.spawn(load_producer_state(leader_epoch()));
      // It may have finished already (nothing to read, or the epoch moved on meanwhile).
      if (!producers_loading_) continue;
    }
    co_await producers_loaded_.wait();
  }
  if (producer.id < 0 || !leading() || closing_) {
    // A follower or a closing partition refuses in append().
    io::Result<storage::AppendResult> appended = co_await append(std::move(batch), acks, timeout);
    produced.appended = std::move(appended);
    co_return produced;
  }
  SequenceCheck check = producers_.check(producer);
  // Planted: a retried batch is written again instead of answered with its first offsets.
  if (planted_duplicates_written_ && check.verdict == SequenceVerdict::kDuplicate) check = {};
  switch (check.verdict) {
    case SequenceVerdict::kAppend:
      break;
    case SequenceVerdict::kDuplicate: {
      Produced duplicate = co_await answer_duplicate(check.written, acks, timeout);
      co_return duplicate;
    }
    case SequenceVerdict::kInFlight:
      produced.refused = protocol::ErrorCode::kRequestTimedOut;
      co_return produced;
    case SequenceVerdict::kOutOfOrder:
      produced.refused = protocol::ErrorCode::kOutOfOrderSequenceNumber;
      co_return produced;
    case SequenceVerdict::kFencedEpoch:
      produced.refused = protocol::ErrorCode::kInvalidProducerEpoch;
      co_return produced;
  }
  producers_.begin(producer);
  const std::int32_t epoch = producers_epoch_;
  if (replica_) {
    raft::ProposeOutcome outcome = co_await propose(std::move(batch), acks, timeout);
    // In the log (even if not committed in time): a retry must find it there, not write it again.
    if (producers_epoch_ == epoch && outcome.base_offset >= 0) {
      producers_.written(producer.id, producer.first_sequence, outcome.base_offset,
                         outcome.last_offset, static_cast<std::int32_t>(outcome.term));
    } else if (producers_epoch_ == epoch) {
      producers_.abandon(producer.id, producer.first_sequence);
    }
    if (outcome.ok()) {
      produced.appended = storage::AppendResult{outcome.base_offset, outcome.last_offset};
    } else {
      produced.appended = propose_error(tp_, outcome);
    }
    co_return produced;
  }
  io::Result<storage::AppendResult> appended = co_await append_local(std::move(batch), acks);
  if (producers_epoch_ == epoch && appended) {
    producers_.written(producer.id, producer.first_sequence, appended->base_offset,
                       appended->last_offset, 0);
  } else if (producers_epoch_ == epoch) {
    producers_.abandon(producer.id, producer.first_sequence);
  }
  produced.appended = std::move(appended);
  co_return produced;
}

// A retried batch is answered with its first write's offsets; with acks=all only once that write
// is committed (a replicated one may still be cut from the log by a new leader).
io::Task<Partition::Produced> Partition::answer_duplicate(const BatchSequences& written, Acks acks,
                                                          io::Duration timeout) {
  Produced produced;
  produced.appended = storage::AppendResult{written.base_offset, written.last_offset};
  if (!replica_ || acks != Acks::kAll || replica_->high_watermark() > written.last_offset) {
    co_return produced;
  }
  raft::ProposeOutcome original;
  original.base_offset = written.base_offset;
  original.last_offset = written.last_offset;
  original.term = written.leader_epoch;
  operations_in_flight_ += 1;
  raft::ProposeOutcome settled =
      co_await replica_->await_settled(original, raft::Acks::kAll, timeout);
  operations_in_flight_ -= 1;
  operation_done_.notify_all();
  if (!settled.ok()) produced.appended = propose_error(tp_, settled);
  co_return produced;
}

// Rebuilds the producer state: the producer snapshot, then the batches after it, including, on a
// leader, entries not committed yet (a retry is checked against what the log holds). Without a
// usable snapshot (none yet, or the log start moved past it without it, as when a follower
// restarted its log at its leader's log start), from the log's tail: the last two segments and at
// least kProducerStateScanBytesMin (a producer retries within its delivery timeout, long before
// that much follows its batch).
io::Task<void> Partition::load_producer_state(std::int32_t epoch) {
  operations_in_flight_ += 1;
  co_await read_producer_snapshot();
  ProducerStateTable table;
  std::int64_t next = log_.log_start_offset();
  const std::int64_t end = log_.next_offset();
  if (snapshot_end_ >= next && snapshot_end_ <= end) {
    table = snapshot_;
    next = snapshot_end_;
  } else {
    const std::vector<storage::SegmentSummary> segments = log_.segments();
    std::uint64_t covered = 0;
    for (std::size_t i = segments.size(); i > 0; --i) {
      const std::size_t from_end = segments.size() - i;
      if (from_end >= 2 && covered >= kProducerStateScanBytesMin) {
        next = std::max(next, segments[i].base_offset);
        break;
      }
      covered += segments[i - 1].size_bytes;
    }
  }
  std::uint64_t batches = 0;
  co_await replay_batches(table, next, end, batches);
  if (leader_epoch() == epoch && !closing_) {
    producers_ = std::move(table);
    producers_epoch_ = epoch;
    spdlog::debug("{}-{}: producer state of epoch {}: {} producers, {} batches after offset {}",
                  tp_.topic, tp_.partition, epoch, producers_.size(), batches, next);
  }
  producers_loading_ = false;
  operations_in_flight_ -= 1;
  operation_done_.notify_all();
  producers_loaded_.notify_all();
}

io::Task<std::int64_t> Partition::replay_batches(ProducerStateTable& table, std::int64_t from,
                                                 std::int64_t end, std::uint64_t& batches) {
  std::int64_t next = from;
  for (std::uint64_t rounds = 0; next < end && !closing_; ++rounds) {
    STRAND_ASSERT(rounds < (1ull << 40), "each read moves forward");
    io::Result<std::vector<std::byte>> bytes = co_await log_.read(next, kProducerScanBytes, end);
    if (!bytes) {
      spdlog::warn("{}-{}: reading producer batches at offset {}: {}", tp_.topic, tp_.partition,
                   next, bytes.error().to_string());
      note_read_error(bytes.error(), next);
      break;
    }
    const std::int64_t before = next;
    std::span<const std::byte> rest(*bytes);
    while (rest.size() >= protocol::kBatchHeaderBytes) {
      io::Result<std::span<const std::byte>> batch = protocol::next_batch(rest);
      if (!batch || batch->size() < protocol::kBatchHeaderBytes) break;
      const std::span<const std::byte> whole = *batch;
      const auto base = protocol::load_be<std::int64_t>(whole.data());
      const auto delta =
          protocol::load_be<std::int32_t>(whole.data() + protocol::batch_field::kLastOffsetDelta);
      if (base >= end) break;
      const ProducerBatch producer = ProducerBatch::of(whole);
      if (producer.id >= 0) {
        const auto leader_epoch = protocol::load_be<std::int32_t>(
            whole.data() + protocol::batch_field::kPartitionLeaderEpoch);
        table.replay(producer, base, base + delta, leader_epoch);
        batches += 1;
      }
      next = base + delta + 1;
    }
    if (next <= before) break;  // nothing readable: the rest stays unknown (accepted as new)
  }
  co_return next;
}

std::string Partition::producer_snapshot_path() const {
  return io::join_path(log_.directory(), kProducerSnapshotName);
}

io::Task<void> Partition::read_producer_snapshot() {
  if (snapshot_read_) co_return;
  io::Mutex::Guard guard = co_await snapshot_lock_.lock();
  if (snapshot_read_) co_return;
  snapshot_read_ = true;
  io::Result<std::optional<std::vector<std::byte>>> bytes = co_await storage::read_small_file(
      env_.fs(), producer_snapshot_path(), kProducerSnapshotBytesMax);
  if (!bytes) {
    spdlog::warn("{}-{}: producer snapshot unreadable ({}); rebuilding from the log's tail",
                 tp_.topic, tp_.partition, bytes.error().to_string());
    co_return;
  }
  if (!*bytes) co_return;
  std::optional<ProducerStateTable::Decoded> decoded = ProducerStateTable::decode(**bytes);
  if (!decoded) {
    spdlog::warn("{}-{}: producer snapshot corrupt; rebuilding from the log's tail", tp_.topic,
                 tp_.partition);
    co_return;
  }
  // A snapshot beyond the log's end describes batches the log no longer has (its tail was cut
  // after damage): not usable.
  if (decoded->end > log_.next_offset()) {
    spdlog::warn("{}-{}: producer snapshot at offset {} is beyond the log's end {}; not used",
                 tp_.topic, tp_.partition, decoded->end, log_.next_offset());
    co_return;
  }
  snapshot_ = std::move(decoded->table);
  snapshot_end_ = decoded->end;
}

io::Task<void> Partition::save_producer_snapshot(std::int64_t upto) {
  if (closing_) co_return;
  operations_in_flight_ += 1;
  co_await save_producer_snapshot_counted(upto);
  operations_in_flight_ -= 1;
  operation_done_.notify_all();
}

io::Task<void> Partition::save_producer_snapshot_counted(std::int64_t upto) {
  co_await read_producer_snapshot();
  io::Mutex::Guard guard = co_await snapshot_lock_.lock();
  // Committed batches only: those are never cut from the log.
  upto = std::min(upto, log_.high_watermark());
  const std::int64_t start = log_.log_start_offset();
  if (snapshot_end_ < start) {
    // The log start moved past the snapshot without it (or there is none): what lay between is
    // unknown, so start over at the log start rather than keep producers whose later batches are
    // missing (their next batch would be refused as out of order).
    snapshot_.clear();
    snapshot_end_ = start;
  }
  if (upto <= snapshot_end_) co_return;
  ProducerStateTable table = snapshot_;
  std::uint64_t batches = 0;
  const std::int64_t reached = co_await replay_batches(table, snapshot_end_, upto, batches);
  if (reached <= snapshot_end_ || closing_) co_return;
  table.expire(env_.clock().wall_ms(), producer_expiration_ms_);
  io::Result<void> written = co_await storage::write_file_atomically(
      env_.fs(), producer_snapshot_path(), table.encode(reached));
  if (!written) {
    spdlog::warn("{}-{}: writing the producer snapshot at offset {}: {}", tp_.topic, tp_.partition,
                 reached, written.error().to_string());
    co_return;
  }
  snapshot_ = std::move(table);
  snapshot_end_ = reached;
}

void Partition::expire_producers() {
  const std::size_t expired = producers_.expire(env_.clock().wall_ms(), producer_expiration_ms_);
  if (expired > 0) {
    spdlog::info("{}-{}: {} idempotent producers expired (producer.id.expiration.ms {})", tp_.topic,
                 tp_.partition, expired, producer_expiration_ms_);
  }
}

void Partition::watch_log_start() {
  log_.set_before_start_moves([weak = weak_from_this()](std::int64_t new_start) {
    return save_before_start_moves(weak, new_start);
  });
}

io::Task<void> Partition::save_before_start_moves(std::weak_ptr<Partition> weak,
                                                  std::int64_t new_start) {
  std::shared_ptr<Partition> self = weak.lock();
  if (!self) co_return;
  co_await self->save_producer_snapshot(new_start);
}

void Partition::note_read_error(const io::Error& error, std::int64_t offset) {
  if (error.kind != io::ErrorKind::kCorrupt || !replica_ || closing_) return;
  spdlog::error("{}-{}: {}; repaired from the other replicas if it has any", tp_.topic,
                tp_.partition, error.to_string());
  replica_->request_repair(offset);
}

io::Task<io::Result<std::vector<std::byte>>> Partition::read(std::int64_t offset,
                                                             std::uint32_t bytes_max) {
  if (closing_) co_return io::Error{io::ErrorKind::kNotFound, "partition is being deleted"};
  // Planted bug: any replica serves its whole log, uncommitted entries a new leader may replace.
  const bool beyond_high_watermark = replica_ && planted_reads_beyond_high_watermark_;
  io::Result<void> leading = check_leader();
  if (!leading && !beyond_high_watermark) co_return std::move(leading).error();
  const std::int64_t upper = beyond_high_watermark ? log_.next_offset() : log_.high_watermark();
  operations_in_flight_ += 1;
  io::Result<std::vector<std::byte>> bytes = co_await log_.read(offset, bytes_max, upper);
  operations_in_flight_ -= 1;
  operation_done_.notify_all();
  if (!bytes) note_read_error(bytes.error(), offset);
  co_return std::move(bytes);
}

io::Task<io::Result<std::int64_t>> Partition::delete_records_before(std::int64_t offset) {
  if (closing_) co_return io::Error{io::ErrorKind::kNotFound, "partition is being deleted"};
  operations_in_flight_ += 1;
  io::Result<std::int64_t> start = log_.log_start_offset();
  if (replica_) {
    io::Result<std::int64_t> advanced = co_await replica_->advance_log_start(offset);
    start = std::move(advanced);
  } else {
    io::Result<void> moved =
        co_await log_.advance_start_offset(std::min(offset, log_.high_watermark()));
    if (moved) {
      start = log_.log_start_offset();
    } else {
      start = std::move(moved).error();
    }
  }
  operations_in_flight_ -= 1;
  operation_done_.notify_all();
  co_return std::move(start);
}

io::Task<io::Result<std::optional<Partition::TimestampedOffset>>> Partition::offset_for_timestamp(
    std::int64_t timestamp) {
  if (closing_) co_return io::Error{io::ErrorKind::kNotFound, "partition is being deleted"};
  io::Result<void> leading = check_leader();
  if (!leading) co_return std::move(leading).error();
  operations_in_flight_ += 1;
  io::Result<std::optional<TimestampedOffset>> found = co_await find_timestamp(timestamp);
  operations_in_flight_ -= 1;
  operation_done_.notify_all();
  co_return std::move(found);
}

io::Task<io::Result<std::optional<Partition::TimestampedOffset>>> Partition::find_timestamp(
    std::int64_t timestamp) {
  io::Result<std::optional<std::int64_t>> offset = co_await log_.offset_for_timestamp(timestamp);
  if (!offset) co_return std::move(offset).error();
  // A record beyond the high watermark is not visible yet.
  if (!*offset || **offset >= log_.high_watermark()) {
    co_return std::optional<TimestampedOffset>{};
  }
  io::Result<std::vector<std::byte>> bytes = co_await log_.read(**offset, 1, log_.high_watermark());
  if (!bytes) {
    note_read_error(bytes.error(), **offset);
    co_return std::move(bytes).error();
  }
  io::Result<std::uint32_t> size = protocol::RecordBatchView::peek_size(*bytes);
  if (!size || *size > bytes->size()) co_return io::Error{io::ErrorKind::kCorrupt, "short batch"};
  io::Result<protocol::RecordBatchView> batch = protocol::RecordBatchView::parse(
      std::span<const std::byte>(*bytes).first(*size), protocol::BatchOrigin::kLog);
  if (!batch) co_return std::move(batch).error();
  TimestampedOffset found{**offset, batch->max_timestamp()};
  if (batch->compression() == protocol::Compression::kNone) {
    io::Result<std::vector<protocol::Record>> records = protocol::read_records(*batch);
    if (!records) co_return std::move(records).error();
    for (const protocol::Record& record : *records) {
      if (record.offset == found.offset) found.timestamp = record.timestamp_ms;
    }
  }
  co_return std::optional<TimestampedOffset>{found};
}

void Partition::set_planted_bug(const std::string& name) {
#ifdef STRAND_PLANTED_BUGS
  planted_ack_before_sync_ = name == "ack_before_sync";
  planted_reads_beyond_high_watermark_ = name == "follower_reads_beyond_hw";
  planted_duplicates_written_ = name == "idempotent_duplicates_written";
#else
  (void)name;
#endif
}

void Partition::schedule_flush() {
  if (flushing_ || closing_) return;
  flushing_ = true;
  operations_in_flight_ += 1;
  background_.spawn(flush_loop());
}

// Keeps syncing while there is unsynced data, so acks=1 records become visible (and durable)
// within one sync of being written; concurrent appends share each sync.
io::Task<void> Partition::flush_loop() {
  for (std::uint64_t rounds = 0; log_.synced_offset() < log_.next_offset(); ++rounds) {
    STRAND_ASSERT(rounds < (1ull << 40), "each round syncs something");
    io::Result<void> synced = co_await log_.sync();
    advance_high_watermark();
    if (!synced) {
      spdlog::error("{}-{}: sync failed, partition stops accepting writes: {}", tp_.topic,
                    tp_.partition, synced.error().to_string());
      break;
    }
  }
  flushing_ = false;
  operations_in_flight_ -= 1;
  operation_done_.notify_all();
}

void Partition::advance_high_watermark() {
  const std::int64_t synced = log_.synced_offset();
  if (synced > log_.high_watermark()) {
    log_.set_high_watermark(synced);
    data_arrived_.notify_all();
  }
}

io::Task<void> Partition::quiesce() {
  closing_ = true;
  bool waited = false;
  for (std::uint64_t rounds = 0; operations_in_flight_ > 0; ++rounds) {
    STRAND_ASSERT(rounds < (1ull << 40), "operations finish");
    co_await operation_done_.wait();
    waited = true;
  }
  // The last operation woke us from its notify_all, so its frame (the flush loop's, which this
  // partition's scope owns) is still on the stack below: let it end before the caller destroys
  // the partition (single-broker.toml seed 56 with a rolling restart crashed here).
  if (waited) co_await env_.clock().sleep(io::Duration::ns(0));
}

PartitionManager::PartitionManager(io::Env& env, const BrokerConfig& config)
    : env_(env), config_(config), logs_(env, config.data_dir, config.log) {}

PartitionManager::~PartitionManager() = default;

io::Task<io::Result<void>> PartitionManager::open() {
  io::Result<void> made = co_await env_.fs().make_dirs(config_.data_dir);
  if (!made) co_return std::move(made).error();
  if (clustered()) {
    co_await reconcile();  // the replicas the applied image places here
    spdlog::info("opened {} replicas in {}", replicas_.size(), config_.data_dir);
    co_return io::ok();
  }
  const std::string catalog_path = io::join_path(config_.data_dir, kTopicCatalogName);
  io::Result<std::optional<std::vector<std::byte>>> bytes =
      co_await storage::read_small_file(env_.fs(), catalog_path, kCatalogBytesMax);
  if (!bytes) co_return std::move(bytes).error();
  if (*bytes) {
    io::Result<TopicCatalog> parsed = TopicCatalog::parse(**bytes);
    if (!parsed) co_return std::move(parsed).error();
    catalog_ = std::move(*parsed);
    io::Result<void> cleaned = co_await remove_orphans();
    if (!cleaned) co_return std::move(cleaned).error();
  } else {
    // No catalog: adopt what is on disk (a data directory from before the catalog existed).
    io::Result<void> opened = co_await logs_.open_all();
    if (!opened) co_return std::move(opened).error();
    std::map<std::string, std::int32_t> found;
    for (const auto& [tp, log] : logs_.logs()) {
      found[tp.topic] = std::max(found[tp.topic], tp.partition + 1);
    }
    for (const auto& [name, count] : found) {
      catalog_.add(TopicInfo{name, count, {}, env_.rng().next_u64(), env_.rng().next_u64()});
    }
    io::Result<void> saved = co_await save_catalog();
    if (!saved) co_return std::move(saved).error();
  }
  for (const auto& [name, topic] : catalog_.topics()) {
    for (std::int32_t index = 0; index < topic.partitions; ++index) {
      io::Result<void> opened = co_await open_partition(topic, index);
      if (!opened) co_return std::move(opened).error();
    }
  }
  spdlog::info("opened {} topics, {} partitions in {}", catalog_.topics().size(),
               partitions_.size(), config_.data_dir);
  co_return io::ok();
}

io::Task<io::Result<void>> PartitionManager::remove_orphans() {
  io::Result<std::vector<std::string>> names = co_await env_.fs().list(config_.data_dir);
  if (!names) co_return std::move(names).error();
  for (const std::string& name : *names) {
    std::optional<storage::TopicPartition> tp = storage::parse_partition_directory(name);
    if (!tp) continue;
    const TopicInfo* topic = catalog_.find(tp->topic);
    if (topic && tp->partition < topic->partitions) continue;
    spdlog::warn("removing {}: its topic or partition was deleted", name);
    io::Result<storage::PartitionLog*> log = co_await logs_.get_or_create(*tp);
    if (!log) co_return std::move(log).error();
    io::Result<void> removed = co_await logs_.remove(*tp);
    if (!removed) co_return std::move(removed).error();
  }
  co_return io::ok();
}

io::Task<io::Result<void>> PartitionManager::open_partition(const TopicInfo& topic,
                                                            std::int32_t index) {
  storage::TopicPartition tp{topic.name, index};
  io::Result<storage::PartitionLog*> log =
      co_await logs_.get_or_create(tp, catalog_.log_config(topic, config_.log));
  if (!log) co_return with_context(std::move(log).error(), storage::partition_directory_name(tp));
  auto partition = std::make_shared<Partition>(env_, tp, **log, data_arrived_);
  partition->set_producer_expiration_ms(config_.producer_id_expiration_ms);
  partition->set_planted_bug(config_.planted_bug);
  partition->watch_log_start();
  partitions_[tp] = std::move(partition);
  co_return io::ok();
}

io::Task<io::Result<void>> PartitionManager::close() {
  if (retention_running_) {
    co_await retention_idle_.wait();
    // The loop that woke us is still on the stack below; let it park in its sleep first.
    co_await env_.clock().sleep(io::Duration::ns(0));
  }
  retention_.cancel();
  closing_ = true;
  image_changed_.notify_all();
  if (clustered()) {
    // The loops may be suspended in an open or a report: let them finish or end them.
    io::Mutex::Guard guard = co_await changing_.lock();
    // A loop that held the lock handed it over from its Guard's destructor, so its frame is still
    // on the stack below: let it run on to its next suspension before its frame is destroyed
    // (cluster-rolling-restart.toml seed 195 crashed here).
    co_await env_.clock().sleep(io::Duration::ns(0));
    cluster_tasks_.cancel();
    while (!replicas_.empty()) co_await remove_replica(replicas_.begin()->first, false);
  }
  for (auto& [tp, partition] : partitions_) co_await partition->quiesce();
  partitions_.clear();
  co_return co_await logs_.close_all();
}

io::Task<io::Result<void>> PartitionManager::save_catalog() {
  co_return co_await storage::write_file_atomically(
      env_.fs(), io::join_path(config_.data_dir, kTopicCatalogName), catalog_.serialize());
}

std::shared_ptr<Partition> PartitionManager::find(const storage::TopicPartition& tp) const {
  auto it = partitions_.find(tp);
  return it == partitions_.end() ? nullptr : it->second;
}

storage::LogConfig PartitionManager::topic_log_config(const std::string& topic) const {
  const TopicInfo* info = catalog_.find(topic);
  return info ? catalog_.log_config(*info, config_.log) : config_.log;
}

io::Task<TopicError> PartitionManager::create_topic(
    std::string name, std::int32_t partitions, std::int16_t replication_factor,
    std::map<std::string, std::string> configs, bool validate_only,
    std::vector<std::vector<std::int32_t>> assignments) {
  if (clustered()) {
    CreateTopicRequest request;
    request.name = std::move(name);
    request.partitions = partitions;
    request.replication = replication_factor;
    request.configs = std::move(configs);
    request.validate_only = validate_only;
    request.assignments = std::move(assignments);
    ControllerAnswer answer = co_await controller_->submit(std::move(request), io::Duration::s(30));
    co_return error(answer.code, std::move(answer.message));
  }
  io::Result<void> valid_name = protocol::validate_topic_name(name);
  if (!valid_name) {
    co_return error(protocol::ErrorCode::kInvalidTopicException, valid_name.error().message);
  }
  if (partitions == -1) partitions = config_.num_partitions;
  if (replication_factor == -1) replication_factor = config_.default_replication_factor;
  if (partitions <= 0 || partitions > kPartitionsPerTopicMax) {
    co_return error(
        protocol::ErrorCode::kInvalidPartitions,
        "number of partitions must be in [1, " + std::to_string(kPartitionsPerTopicMax) + "]");
  }
  if (replication_factor != 1) {
    co_return error(protocol::ErrorCode::kInvalidReplicationFactor,
                    "replication factor " + std::to_string(replication_factor) +
                        " is larger than the 1 available broker");
  }
  storage::LogConfig scratch = config_.log;
  for (const auto& [key, value] : configs) {
    io::Result<void> applied = apply_topic_config(scratch, key, value);
    if (!applied) co_return error(protocol::ErrorCode::kInvalidConfig, applied.error().message);
  }
  io::Mutex::Guard guard = co_await changing_.lock();
  if (catalog_.find(name)) {
    co_return error(protocol::ErrorCode::kTopicAlreadyExists,
                    "topic '" + name + "' already exists");
  }
  for (const auto& [existing, info] : catalog_.topics()) {
    if (protocol::topic_names_collide(existing, name)) {
      co_return error(protocol::ErrorCode::kInvalidTopicException,
                      "topic '" + name + "' collides with '" + existing + "' ('.' and '_')");
    }
  }
  if (validate_only) co_return TopicError{};
  TopicInfo topic{name, partitions, std::move(configs), env_.rng().next_u64(),
                  env_.rng().next_u64()};
  catalog_.add(topic);
  // The catalog first: a crash before the logs exist recreates them at open; the reverse would
  // leave directories of a topic nobody knows.
  io::Result<void> saved = co_await save_catalog();
  if (!saved) {
    catalog_.remove(name);
    co_return storage_error(saved.error());
  }
  for (std::int32_t index = 0; index < partitions; ++index) {
    io::Result<void> opened = co_await open_partition(topic, index);
    if (!opened) co_return storage_error(opened.error());
  }
  spdlog::info("created topic {} with {} partitions", name, partitions);
  co_return TopicError{};
}

io::Task<TopicError> PartitionManager::delete_topic(std::string name) {
  if (!config_.delete_topic_enable) {
    co_return error(protocol::ErrorCode::kTopicDeletionDisabled, "delete.topic.enable is false");
  }
  if (clustered()) {
    DeleteTopicRequest request{std::move(name)};
    ControllerAnswer answer = co_await controller_->submit(std::move(request), io::Duration::s(30));
    co_return error(answer.code, std::move(answer.message));
  }
  io::Mutex::Guard guard = co_await changing_.lock();
  const TopicInfo* topic = catalog_.find(name);
  if (!topic) {
    co_return error(protocol::ErrorCode::kUnknownTopicOrPartition,
                    "topic '" + name + "' does not exist");
  }
  const std::int32_t count = topic->partitions;
  catalog_.remove(name);
  io::Result<void> saved = co_await save_catalog();
  if (!saved) co_return storage_error(saved.error());
  for (std::int32_t index = 0; index < count; ++index) {
    storage::TopicPartition tp{name, index};
    auto it = partitions_.find(tp);
    if (it == partitions_.end()) continue;
    std::shared_ptr<Partition> partition = it->second;
    partitions_.erase(it);
    co_await partition->quiesce();
    io::Result<void> removed = co_await logs_.remove(tp);
    if (!removed) {
      // The catalog no longer has the topic, so the next open removes what is left.
      spdlog::error("deleting {}-{}: {}", name, index, removed.error().to_string());
    }
  }
  data_arrived_.notify_all();  // fetches waiting on the deleted partitions re-check and fail
  spdlog::info("deleted topic {}", name);
  co_return TopicError{};
}

io::Task<TopicError> PartitionManager::create_partitions(std::string name, std::int32_t count,
                                                         bool validate_only) {
  if (clustered()) {
    CreatePartitionsRequest request{std::move(name), count, validate_only};
    ControllerAnswer answer = co_await controller_->submit(std::move(request), io::Duration::s(30));
    co_return error(answer.code, std::move(answer.message));
  }
  io::Mutex::Guard guard = co_await changing_.lock();
  const TopicInfo* topic = catalog_.find(name);
  if (!topic) {
    co_return error(protocol::ErrorCode::kUnknownTopicOrPartition,
                    "topic '" + name + "' does not exist");
  }
  if (count <= topic->partitions || count > kPartitionsPerTopicMax) {
    co_return error(protocol::ErrorCode::kInvalidPartitions,
                    "topic '" + name + "' has " + std::to_string(topic->partitions) +
                        " partitions; the new count must be larger (and at most " +
                        std::to_string(kPartitionsPerTopicMax) + ")");
  }
  if (validate_only) co_return TopicError{};
  const std::int32_t before = topic->partitions;
  catalog_.set_partitions(name, count);
  io::Result<void> saved = co_await save_catalog();
  if (!saved) co_return storage_error(saved.error());
  const TopicInfo updated = *catalog_.find(name);
  for (std::int32_t index = before; index < count; ++index) {
    io::Result<void> opened = co_await open_partition(updated, index);
    if (!opened) co_return storage_error(opened.error());
  }
  co_return TopicError{};
}

void PartitionManager::start_retention() { retention_.spawn(retention_loop()); }

io::Task<void> PartitionManager::retention_loop() {
  const io::Duration interval = io::Duration::ms(config_.retention_check_interval_ms);
  for (;;) {
    co_await env_.clock().sleep(interval);
    retention_running_ = true;
    // Producer snapshots first, so that rebuilding a leader's producer state reads only what came
    // after (retention itself saves the batches it removes through watch_log_start).
    std::vector<std::shared_ptr<Partition>> open;
    open.reserve(partitions_.size());
    for (const auto& [tp, partition] : partitions_) open.push_back(partition);
    for (const std::shared_ptr<Partition>& partition : open) {
      if (closing_) break;
      partition->expire_producers();
      co_await partition->save_producer_snapshot(partition->high_watermark());
    }
    io::Result<storage::RetentionSummary> summary = co_await logs_.run_retention_once();
    if (clustered() && summary) {
      io::Mutex::Guard guard = co_await changing_.lock();  // replicas stay open meanwhile
      for (auto& [group, hosted] : replicas_) {
        if (closing_) break;
        io::Result<storage::RetentionResult> removed = co_await hosted.replica->apply_retention();
        if (!removed) {
          spdlog::error("retention of {}-{}: {}", hosted.tp.topic, hosted.tp.partition,
                        removed.error().to_string());
          continue;
        }
        summary->partitions_checked += 1;
        summary->segments_removed += removed->segments_removed;
        summary->bytes_removed += removed->bytes_removed;
      }
    }
    retention_running_ = false;
    if (!summary) {
      spdlog::error("retention: {}", summary.error().to_string());
    } else if (summary->segments_removed > 0) {
      spdlog::info("retention removed {} segments ({} bytes)", summary->segments_removed,
                   summary->bytes_removed);
    }
    retention_idle_.notify_all();
  }
}

}  // namespace strand::cluster
