#include "broker/raft/replica.h"

#include <algorithm>
#include <utility>

#include "broker/protocol/record_batch.h"
#include "broker/raft/control_batch.h"
#include "broker/raft/replica_state.h"
#include "io/timed_wait.h"

namespace strand::raft {

namespace {

io::Error corrupt(const std::string& what) { return io::Error{io::ErrorKind::kCorrupt, what}; }

// Whether `self` has other voters to take lost entries from again (a learner always does).
bool has_peers(const Configuration& configuration, NodeId self) {
  return configuration.voters.size() >= 2 || !configuration.is_voter(self);
}

constexpr int kOpenRepairsMax = 4;  // corrupt batches one open() cuts off before giving up

OffsetAndTerm later_of(OffsetAndTerm a, OffsetAndTerm b) {
  if (a.term != b.term) return a.term > b.term ? a : b;
  return a.offset >= b.offset ? a : b;
}

// The term of `offset` by the leader epoch checkpoint's term starts (the last at or below it).
Term term_of(const std::vector<TermStart>& epochs, Offset offset) {
  auto after =
      std::upper_bound(epochs.begin(), epochs.end(), offset,
                       [](Offset at, const TermStart& epoch) { return at < epoch.start_offset; });
  return after == epochs.begin() ? Term{-1} : std::prev(after)->term;
}

}  // namespace

const char* replica_error_name(ReplicaError error) {
  switch (error) {
    case ReplicaError::kNone:
      return "none";
    case ReplicaError::kNotLeader:
      return "not_leader";
    case ReplicaError::kBackpressure:
      return "backpressure";
    case ReplicaError::kInvalidBatch:
      return "invalid_batch";
    case ReplicaError::kLost:
      return "lost";
    case ReplicaError::kTimeout:
      return "timeout";
    case ReplicaError::kFailed:
      return "failed";
  }
  return "?";
}

Replica::Replica(io::Env& env, std::string directory, GroupId group, ReplicaOptions options,
                 Transport& transport)
    : env_(env),
      directory_(std::move(directory)),
      group_(group),
      options_(options),
      transport_(transport) {}

io::Task<io::Result<std::unique_ptr<Replica>>> Replica::open(io::Env& env, std::string directory,
                                                             GroupId group, Configuration bootstrap,
                                                             ReplicaOptions options,
                                                             Transport& transport) {
  STRAND_ASSERT(options.raft.valid() && bootstrap.valid(), "a usable configuration");
  std::unique_ptr<Replica> replica(
      new Replica(env, std::move(directory), group, options, transport));
  io::Result<void> restored = co_await replica->restore(bootstrap);
  // A corrupt batch met while restoring: with other voters to send it again, cut the log there
  // and open again, rejoining.
  const bool others =
      bootstrap.voters.size() >= 2 || replica->base_configuration_.voters.size() >= 2;
  // (Opening reads term boundaries before the rest, so a second, earlier batch may show next.)
  for (int repairs = 0;
       repairs < kOpenRepairsMax && !restored && restored.error().kind == io::ErrorKind::kCorrupt &&
       replica->corrupt_at_ && others;
       ++repairs) {
    const Offset from = *replica->corrupt_at_;
    replica->corrupt_at_.reset();
    STRAND_ASSERT(replica->log_ != nullptr, "log reads happen on an open log");
    const OffsetAndTerm floor = replica->log_end();
    (void)co_await replica->log_->close();
    replica->log_.reset();
    io::Result<void> marked = co_await replica->mark_for_repair(from, floor);
    if (!marked) co_return std::move(marked).error();
    restored = co_await replica->restore(bootstrap);
  }
  if (!restored) co_return std::move(restored).error();
  co_return std::move(replica);
}

OffsetAndTerm Replica::log_end() const {
  const Offset last = log_->next_offset() - 1;
  return OffsetAndTerm{last, term_of(epochs_, last)};
}

io::Task<io::Result<void>> Replica::mark_rejoining(OffsetAndTerm floor) {
  if (options_.test_only_repair_without_rejoin) co_return io::ok();
  io::Result<std::optional<RejoinMarker>> marker =
      co_await read_rejoin_marker(env_.fs(), directory_);
  if (!marker) co_return std::move(marker).error();
  std::optional<OffsetAndTerm> kept = floor;
  if (*marker) {
    // Already rejoining: without a floor it votes for nobody, and a floor only rises.
    if (!(*marker)->floor) co_return io::ok();
    kept = later_of(*(*marker)->floor, floor);
  }
  co_return co_await write_rejoin_marker(env_.fs(), directory_, kept);
}

io::Task<io::Result<void>> Replica::mark_for_repair(Offset from, OffsetAndTerm floor) {
  // The rejoin marker first: once the cut may happen, this replica must not vote on its log.
  io::Result<void> rejoin = co_await mark_rejoining(floor);
  if (!rejoin) co_return rejoin;
  co_return co_await write_repair_marker(env_.fs(), directory_, from);
}

bool Replica::may_repair() const {
  return has_peers(core_->configuration(), options_.raft.self);
}

void Replica::request_repair(Offset offset) {
  // Without an owner that reopens it (repair_requested), a replica finds corruption only when
  // it opens.
  if (stopping_ || options_.repair_requested == nullptr || !may_repair()) return;
  if (repair_from_) {
    repair_from_ = std::min(*repair_from_, offset);
    return;
  }
  repair_from_ = std::max(offset, log_->log_start_offset());
  fail(corrupt(directory_ + ": corrupt batch at or after offset " + std::to_string(offset)));
  if (options_.repairs_requested != nullptr) *options_.repairs_requested += 1;
  options_.repair_requested->notify_all();
}

io::Task<io::Result<void>> Replica::restore(Configuration bootstrap) {
  io::Result<std::optional<Offset>> repair = co_await read_repair_marker(env_.fs(), directory_);
  if (!repair) co_return std::move(repair).error();
  io::Result<std::unique_ptr<storage::PartitionLog>> log =
      co_await storage::PartitionLog::open(env_, directory_, options_.log, *repair);
  if (!log) co_return std::move(log).error();
  log_ = std::move(*log);
  if (*repair) {
    // The cut is durable (open synced it); the rejoin marker stays until caught up.
    io::Result<void> removed = co_await remove_repair_marker(env_.fs(), directory_);
    if (!removed) co_return std::move(removed).error();
    repaired_from_ = **repair;
  }
  io::Result<std::optional<HardState>> hard_state = co_await read_hard_state(env_.fs(), directory_);
  if (!hard_state) co_return std::move(hard_state).error();
  io::Result<std::optional<EpochCheckpoint>> checkpoint =
      co_await read_epoch_checkpoint(env_.fs(), directory_);
  if (!checkpoint) co_return std::move(checkpoint).error();
  const Offset start = log_->log_start_offset();
  const Offset last = log_->next_offset() - 1;
  if (*checkpoint) {
    epochs_ = std::move((*checkpoint)->epochs);
    base_configuration_ = std::move((*checkpoint)->configuration);
  } else {
    if (last >= start) co_return corrupt(directory_ + ": a log without its epoch checkpoint");
    epochs_ = {TermStart{0, start - 1}};
    base_configuration_ = std::move(bootstrap);
  }
  const std::vector<TermStart> checkpointed_epochs = epochs_;
  io::Result<void> valid = co_await validate_epochs();
  if (!valid) co_return std::move(valid).error();
  EpochCheckpoint rewritten{epochs_, base_configuration_};
  io::Result<void> written =
      co_await write_epoch_checkpoint(env_.fs(), directory_, std::move(rewritten));
  if (!written) co_return std::move(written).error();
  const HardState state = hard_state->value_or(HardState{});
  if (state.term < epochs_.back().term) {
    co_return corrupt(directory_ + ": the log holds a term beyond the stored one");
  }
  io::Result<std::optional<Offset>> checkpointed =
      co_await read_high_watermark(env_.fs(), directory_);
  if (!checkpointed) co_return std::move(checkpointed).error();
  // Everything below an exposed high watermark was synced, so a crash kept it; clamp anyway.
  const Offset commit = std::max(std::min(checkpointed->value_or(0) - 1, last), start - 1);
  io::Result<std::vector<ConfigurationHistory::Item>> configurations =
      co_await replay_configurations();
  if (!configurations) co_return std::move(configurations).error();
  io::Result<std::optional<RejoinMarker>> rejoin =
      co_await read_rejoin_marker(env_.fs(), directory_);
  if (!rejoin) co_return std::move(rejoin).error();
  // The log ends before a checkpointed high watermark: entries below it were synced, so recovery
  // cut a corrupt batch and entries this replica acknowledged are gone. (A cut above it looks
  // like a torn tail, which a crash may leave in any sector order: not told apart.) With other
  // voters, rejoin; a sole voter goes on with what it has. The replica then votes as the log it
  // lost would have: that log ended at the checkpoint or at the last intact batch behind the cut,
  // whichever is later.
  const Configuration& latest = configurations->back().configuration;
  const bool others = has_peers(latest, options_.raft.self);
  std::optional<OffsetAndTerm> lost;
  const Offset committed_end = checkpointed->value_or(0) - 1;
  if (committed_end > last) {
    lost = OffsetAndTerm{committed_end, term_of(checkpointed_epochs, committed_end)};
    if (const std::optional<storage::LostEnd>& end = log_->lost_end()) {
      const Term term =
          std::max<Term>(term_of(checkpointed_epochs, end->last_offset), end->leader_epoch);
      lost = later_of(*lost, OffsetAndTerm{end->last_offset, term});
    }
  }
  if (lost && others) {
    io::Result<void> marked = co_await mark_rejoining(later_of(*lost, log_end()));
    if (!marked) co_return std::move(marked).error();
    rejoin = co_await read_rejoin_marker(env_.fs(), directory_);
    if (!rejoin) co_return std::move(rejoin).error();
    repaired_from_ = last + 1;
  }
  RestoredState restored{state,
                         TermIndex(epochs_, start, last),
                         commit,
                         std::move(*configurations),
                         rejoin->has_value(),
                         *rejoin ? (*rejoin)->floor : std::nullopt};
  core_ = std::make_unique<RaftCore>(options_.raft, std::move(restored), env_.rng());
  appended_last_ = last;
  high_watermark_ = std::max(log_->high_watermark(), commit + 1);
  log_->set_high_watermark(high_watermark_);
  checkpointed_high_watermark_ = high_watermark_;
  co_return io::ok();
}

// Drops term starts the log lost (a crash took unsynced entries), then checks the checkpoint
// against the log at every term boundary (the batch starting the term, and the one before it)
// and at the log's end.
io::Task<io::Result<void>> Replica::validate_epochs() {
  const Offset start = log_->log_start_offset();
  const Offset end = log_->next_offset();
  while (epochs_.size() > 1 && epochs_.back().start_offset >= end) epochs_.pop_back();
  while (epochs_.size() > 1 && epochs_[1].start_offset <= start - 1) {
    epochs_.erase(epochs_.begin());
  }
  if (epochs_[0].start_offset > start - 1) {
    co_return corrupt(directory_ + ": the epoch checkpoint misses the log start's term");
  }
  for (std::size_t i = 0; i < epochs_.size(); ++i) {
    const Offset boundary = epochs_[i].start_offset;
    if (boundary >= start) {
      io::Result<EntryMeta> first = co_await meta_at(boundary);
      if (!first) co_return std::move(first).error();
      if (first->base_offset != boundary || first->term != epochs_[i].term) {
        corrupt_at_ = boundary;
        co_return corrupt(directory_ + ": term " + std::to_string(epochs_[i].term) +
                          " does not start at offset " + std::to_string(boundary));
      }
    }
    if (i > 0 && boundary - 1 >= start) {
      io::Result<EntryMeta> before = co_await meta_at(boundary - 1);
      if (!before) co_return std::move(before).error();
      if (before->term != epochs_[i - 1].term) {
        corrupt_at_ = boundary - 1;
        co_return corrupt(directory_ + ": offset " + std::to_string(boundary - 1) +
                          " is not of term " + std::to_string(epochs_[i - 1].term));
      }
    }
  }
  if (end > start) {
    io::Result<EntryMeta> last = co_await meta_at(end - 1);
    if (!last) co_return std::move(last).error();
    if (last->term != epochs_.back().term) {
      corrupt_at_ = end - 1;
      co_return corrupt(directory_ + ": the log ends in a term the checkpoint does not know");
    }
  }
  co_return io::ok();
}

// The configuration in effect below the log start and every configuration control batch in
// the log after it: the last one wins over the checkpoint's. Reads the whole log once.
io::Task<io::Result<std::vector<ConfigurationHistory::Item>>> Replica::replay_configurations() {
  std::vector<ConfigurationHistory::Item> items{
      {log_->log_start_offset() - 1, base_configuration_}};
  Offset next = log_->log_start_offset();
  const Offset end = log_->next_offset();
  for (std::uint64_t reads = 0; next < end; ++reads) {
    STRAND_ASSERT(reads < (1ull << 40), "every read moves forward");
    io::Result<std::vector<std::byte>> bytes = co_await log_->read(next, 1u << 20);
    if (!bytes) {
      if (bytes.error().kind == io::ErrorKind::kCorrupt) corrupt_at_ = next;
      co_return std::move(bytes).error();
    }
    if (bytes->empty()) co_return corrupt(directory_ + ": the log ends before its end offset");
    std::span<const std::byte> rest(*bytes);
    for (std::size_t batches = 0; !rest.empty(); ++batches) {
      STRAND_ASSERT(batches <= bytes->size(), "batches have positive sizes");
      io::Result<std::span<const std::byte>> batch = protocol::next_batch(rest);
      if (!batch) co_return corrupt(directory_ + ": unreadable batch");
      io::Result<Entry> entry = entry_from_batch(*batch);
      if (!entry) co_return std::move(entry).error();
      // partitionLeaderEpoch is outside the batch CRC: a flipped term shows only here.
      if (entry->meta.term != term_of(epochs_, entry->meta.base_offset)) {
        corrupt_at_ = entry->meta.base_offset;
        co_return corrupt(directory_ + ": offset " + std::to_string(entry->meta.base_offset) +
                          " holds term " + std::to_string(entry->meta.term) +
                          ", not the checkpoint's");
      }
      if (entry->meta.kind == EntryKind::kConfiguration) {
        if (items.size() > ConfigurationHistory::kEntriesMax) {
          co_return corrupt(directory_ + ": too many configuration entries");
        }
        items.push_back({entry->meta.base_offset, std::move(*entry->configuration)});
      }
      next = entry->meta.last_offset + 1;
    }
  }
  co_return std::move(items);
}

io::Task<io::Result<EntryMeta>> Replica::meta_at(Offset offset) {
  io::Result<std::vector<std::byte>> bytes = co_await log_->read(offset, 1);
  if (!bytes) {
    if (bytes.error().kind == io::ErrorKind::kCorrupt) corrupt_at_ = offset;
    co_return std::move(bytes).error();
  }
  io::Result<std::uint32_t> size = protocol::RecordBatchView::peek_size(*bytes);
  if (!size || *size > bytes->size()) co_return corrupt(directory_ + ": unreadable batch");
  io::Result<Entry> entry = entry_from_batch(std::span<const std::byte>(*bytes).first(*size));
  if (!entry) co_return std::move(entry).error();
  co_return entry->meta;
}

void Replica::step(const Message& message) {
  if (failed_ || stopping_) return;
  core_->step(message);
  if (core_->has_ready()) wake_.notify_all();
}

io::Task<io::Result<void>> Replica::close() {
  io::Result<void> checkpointed = io::ok();
  if (!failed_) checkpointed = co_await checkpoint_high_watermark();
  io::Result<void> closed = co_await log_->close();
  if (repair_from_) {
    io::Result<void> marked = co_await mark_for_repair(*repair_from_, log_end());
    if (!marked) co_return marked;
  }
  if (!checkpointed) co_return checkpointed;
  co_return closed;
}

void Replica::tick() {
  if (failed_ || stopping_) return;
  core_->tick();
  ticks_since_checkpoint_ += 1;
  if (ticks_since_checkpoint_ * options_.tick_interval.count_ns() >=
      options_.high_watermark_checkpoint_interval.count_ns()) {
    ticks_since_checkpoint_ = 0;
    checkpoint_due_ = high_watermark_ > checkpointed_high_watermark_;
  }
  if (checkpoint_due_ || core_->has_ready()) wake_.notify_all();
}

void Replica::stop() {
  stopping_ = true;
  wake_.notify_all();
  progress_.notify_all();
}

void Replica::fail(const io::Error& error) {
  (void)error;  // the caller of open() sees the next error; proposals see kFailed
  failed_ = true;
  progress_.notify_all();
}

io::Task<void> Replica::run() {
  if (options_.external_ticks) {
    co_await run_ticked();
    co_return;
  }
  io::Clock& clock = env_.clock();
  io::Instant next_tick = clock.now() + options_.tick_interval;
  io::Instant next_checkpoint = clock.now() + options_.high_watermark_checkpoint_interval;
  while (!stopping_ && !failed_) {
    const io::Instant now = clock.now();
    if (now >= next_tick) {
      core_->tick();
      next_tick = now + options_.tick_interval;
    }
    if (now >= next_checkpoint) {
      next_checkpoint = now + options_.high_watermark_checkpoint_interval;
      io::Result<void> checkpointed = co_await checkpoint_high_watermark();
      if (!checkpointed) fail(checkpointed.error());
      continue;
    }
    if (core_->has_ready()) {
      Ready ready = core_->take_ready();
      io::Result<void> done = co_await perform(ready);
      if (!done) fail(done.error());
      continue;
    }
    const io::Duration until_tick = next_tick - now;
    const bool notified = co_await io::wait_notified(wake_, clock, until_tick);
    (void)notified;
  }
  progress_.notify_all();
}

io::Task<void> Replica::run_ticked() {
  while (!stopping_ && !failed_) {
    if (checkpoint_due_) {
      checkpoint_due_ = false;
      io::Result<void> checkpointed = co_await checkpoint_high_watermark();
      if (!checkpointed) fail(checkpointed.error());
      continue;
    }
    if (core_->has_ready()) {
      Ready ready = core_->take_ready();
      io::Result<void> done = co_await perform(ready);
      if (!done) fail(done.error());
      continue;
    }
    co_await wake_.wait();
  }
  progress_.notify_all();
}

io::Task<io::Result<void>> Replica::perform(Ready& ready) {
  if (ready.soft_state && options_.role_changes != nullptr) *options_.role_changes += 1;
  io::Result<void> written = co_await write_log(ready);
  if (!written) co_return written;
  co_await send_all(ready.to_send_now);
  const bool wrote = ready.hard_state || ready.truncate_from || ready.log_start_offset ||
                     !ready.to_persist.empty();
  if (wrote) {
    io::Result<void> synced = co_await log_->sync();
    if (!synced) co_return synced;
  }
  if (ready.rejoined) {
    // After the sync: the entries that make this replica's votes meaningful are durable.
    io::Result<void> removed = co_await remove_rejoin_marker(env_.fs(), directory_);
    if (!removed) co_return removed;
  }
  co_await send_all(ready.to_send_after_sync);
  core_->advance(ready);
  if (ready.committed) expose_commit(*ready.committed);
  progress_.notify_all();
  co_return io::ok();
}

// Step 2 of the contract: hard state, truncation, log start, then the entries.
io::Task<io::Result<void>> Replica::write_log(Ready& ready) {
  // Read before the first suspension: steps in between may move the core's history on.
  std::optional<StartMove> move;
  if (ready.log_start_offset) {
    const Offset start = *ready.log_start_offset;
    move = StartMove{start, core_->term_index().term_at(start - 1),
                     core_->configuration_history().at(start - 1)};
  }
  if (ready.hard_state) {
    io::Result<void> stored = co_await write_hard_state(env_.fs(), directory_, *ready.hard_state);
    if (!stored) co_return stored;
  }
  bool epochs_changed = false;
  if (ready.truncate_from) {
    const Offset from = *ready.truncate_from;
    io::Result<void> cut = co_await log_->truncate_suffix(from);
    if (!cut) co_return cut;
    while (epochs_.size() > 1 && epochs_.back().start_offset >= from) epochs_.pop_back();
    appended_last_ = std::min(appended_last_, from - 1);
    epochs_changed = true;
  }
  if (move && move->start > log_->next_offset()) {
    io::Result<void> restarted = co_await restart_log(*move);
    if (!restarted) co_return restarted;
    epochs_changed = true;
  } else if (move) {
    const Offset start = move->start;
    io::Result<void> moved = co_await log_->advance_start_offset(start);
    if (!moved) co_return moved;
    while (epochs_.size() > 1 && epochs_[1].start_offset <= start - 1) {
      epochs_.erase(epochs_.begin());
    }
    epochs_changed = true;
  }
  for (const Entry& entry : ready.to_persist) {
    if (entry.meta.term > epochs_.back().term) {
      epochs_.push_back(TermStart{entry.meta.term, entry.meta.base_offset});
      epochs_changed = true;
    }
  }
  if (epochs_changed) {
    EpochCheckpoint checkpoint{epochs_, base_configuration_};
    io::Result<void> stored =
        co_await write_epoch_checkpoint(env_.fs(), directory_, std::move(checkpoint));
    if (!stored) co_return stored;
  }
  co_return co_await append_entries(ready.to_persist);
}

// The leader's log start lies beyond this log's end: the log restarts empty there. The epoch
// checkpoint first learns the term of start - 1 as one more boundary, which open() drops while
// the old log is still there (it lies beyond the log's end), so a crash on either side of the
// restart reopens a log the checkpoint describes.
io::Task<io::Result<void>> Replica::restart_log(const StartMove& move) {
  const Offset start = move.start;
  if (move.term_before > epochs_.back().term) {
    epochs_.push_back(TermStart{move.term_before, start - 1});
    EpochCheckpoint bridging{epochs_, base_configuration_};
    io::Result<void> stored =
        co_await write_epoch_checkpoint(env_.fs(), directory_, std::move(bridging));
    if (!stored) co_return stored;
  }
  io::Result<void> restarted = co_await log_->truncate_fully_and_start_at(start);
  if (!restarted) co_return restarted;
  epochs_ = {TermStart{move.term_before, start - 1}};
  base_configuration_ = move.configuration_before;
  appended_last_ = start - 1;
  // The log restarted with its high watermark at `start`; the replica's never lags behind it.
  if (high_watermark_ < start) {
    high_watermark_ = start;
    if (options_.high_watermark_moved != nullptr) options_.high_watermark_moved->notify_all();
  }
  co_return io::ok();
}

io::Task<io::Result<void>> Replica::append_entries(std::vector<Entry>& entries) {
  for (Entry& entry : entries) {
    STRAND_ASSERT(entry.meta.base_offset == log_->next_offset(), "entries continue the log");
    std::vector<std::byte> batch = std::move(entry.payload);
    if (batch.empty()) batch = build_control_batch(entry, env_.clock().wall_ms());
    io::Result<storage::AppendResult> appended =
        co_await log_->append(std::move(batch), entry.meta.term, protocol::BatchOrigin::kLog);
    if (!appended) co_return std::move(appended).error();
    STRAND_ASSERT(appended->base_offset == entry.meta.base_offset &&
                      appended->last_offset == entry.meta.last_offset,
                  "the log assigns the offsets the core chose");
    appended_last_ = entry.meta.last_offset;
  }
  co_return io::ok();
}

io::Task<void> Replica::send_all(std::vector<Message>& messages) {
  for (Message& message : messages) {
    if (auto* append = std::get_if<AppendRequest>(&message.body)) {
      const Offset last = co_await attach_entries(*append);
      core_->append_sent(message.to, message.term, append->prev_offset, last);
    }
    transport_.send(group_, std::move(message));
  }
}

// Whole entries from prev_offset + 1, within the byte budget and append_entries_max; returns
// the last offset attached (prev_offset if none).
io::Task<Offset> Replica::attach_entries(AppendRequest& append) {
  const Offset from = append.prev_offset + 1;
  if (from < log_->log_start_offset() || from >= log_->next_offset()) co_return append.prev_offset;
  const Term term = core_->term();
  io::Result<std::vector<std::byte>> bytes = co_await log_->read(from, options_.append_bytes_max);
  if (!bytes) {
    if (bytes.error().kind == io::ErrorKind::kCorrupt) request_repair(from);
    co_return append.prev_offset;
  }
  std::span<const std::byte> rest(*bytes);
  std::size_t kept = 0;
  for (std::uint32_t count = 0; count < options_.raft.append_entries_max && kept < rest.size();
       ++count) {
    std::span<const std::byte> tail = rest.subspan(kept);
    io::Result<std::span<const std::byte>> batch = protocol::next_batch(tail);
    if (!batch) break;
    kept += batch->size();
  }
  io::Result<std::vector<Entry>> entries =
      entries_from_batches(rest.first(kept), options_.raft.append_entries_max);
  if (!entries || entries->empty() || entries->front().meta.base_offset != from) {
    // Our own log, read where an entry starts, gave no entry starting there: its bytes are damaged
    // where the CRC does not look (baseOffset) or in a way only the entry decoding sees.
    request_repair(from);
    co_return append.prev_offset;
  }
  // A leader never truncates its log, so while it leads in the same term the core's terms are
  // what the log must hold; partitionLeaderEpoch is outside the CRC.
  if (core_->role() == Role::kLeader && core_->term() == term) {
    for (const Entry& entry : *entries) {
      if (entry.meta.last_offset > core_->term_index().last_offset() ||
          entry.meta.term == core_->term_index().term_at(entry.meta.base_offset)) {
        continue;
      }
      request_repair(entry.meta.base_offset);
      co_return append.prev_offset;
    }
  }
  const Offset last = entries->back().meta.last_offset;
  append.entries = std::move(*entries);
  co_return last;
}

void Replica::expose_commit(Offset committed) {
  const Offset high_watermark = std::min(committed + 1, log_->next_offset());
  if (high_watermark <= high_watermark_) return;
  high_watermark_ = high_watermark;
  log_->set_high_watermark(high_watermark_);
  if (options_.high_watermark_moved != nullptr) options_.high_watermark_moved->notify_all();
}

io::Task<io::Result<void>> Replica::checkpoint_high_watermark() {
  const Offset high_watermark = high_watermark_;
  if (high_watermark <= checkpointed_high_watermark_) co_return io::ok();
  io::Result<void> written = co_await write_high_watermark(env_.fs(), directory_, high_watermark);
  if (!written) co_return written;
  checkpointed_high_watermark_ = high_watermark;
  co_return io::ok();
}

io::Task<io::Result<storage::RetentionResult>> Replica::apply_retention() {
  if (failed_ || stopping_) co_return io::Error{io::ErrorKind::kClosed, "replica stopped"};
  // Only committed and durable entries may go: the core's log start never passes them.
  const Offset upper = std::min(high_watermark_, core_->persisted_offset() + 1);
  io::Result<storage::RetentionResult> removed =
      co_await log_->apply_retention(env_.clock().wall_ms(), upper);
  if (!removed) {
    fail(removed.error());
    co_return std::move(removed).error();
  }
  follow_log_start_in_core();
  if (core_->role() != Role::kLeader &&
      core_->leader_log_start_offset() > log_->log_start_offset()) {
    io::Result<void> moved = co_await move_log_start(core_->leader_log_start_offset());
    if (!moved) co_return std::move(moved).error();
  }
  co_return std::move(removed);
}

io::Task<io::Result<Offset>> Replica::advance_log_start(Offset offset) {
  if (failed_ || stopping_) co_return io::Error{io::ErrorKind::kClosed, "replica stopped"};
  if (core_->role() != Role::kLeader) {
    co_return io::Error{io::ErrorKind::kUnavailable, "not the leader"};
  }
  io::Result<void> moved = co_await move_log_start(offset);
  if (!moved) co_return std::move(moved).error();
  co_return log_->log_start_offset();
}

io::Task<io::Result<void>> Replica::move_log_start(Offset offset) {
  // Only committed and durable entries may go: the core's log start never passes them.
  const Offset upper = std::min(high_watermark_, core_->persisted_offset() + 1);
  const Offset target = std::min(offset, upper);
  if (target <= log_->log_start_offset()) co_return io::ok();
  io::Result<void> moved = co_await log_->advance_start_offset(target);
  if (!moved) {
    fail(moved.error());
    co_return std::move(moved).error();
  }
  follow_log_start_in_core();
  co_return io::ok();
}

void Replica::follow_log_start_in_core() {
  const Offset start = log_->log_start_offset();
  if (start > core_->log_start_offset() &&
      start <= std::min(core_->commit_index(), core_->persisted_offset()) + 1) {
    core_->advance_log_start_offset(start);
    wake_.notify_all();
  }
}

io::Task<ProposeOutcome> Replica::change_configuration(ConfigChange change, io::Duration timeout) {
  ProposeOutcome outcome;
  if (failed_ || stopping_) {
    outcome.error = ReplicaError::kFailed;
    co_return outcome;
  }
  ProposeResult result = core_->propose_configuration_change(change);
  if (!result.ok()) {
    outcome.error = result.error == ProposeError::kNotLeader ? ReplicaError::kNotLeader
                    : result.error == ProposeError::kInvalidConfigChange ||
                            result.error == ProposeError::kCannotRemoveLeader
                        ? ReplicaError::kInvalidBatch
                        : ReplicaError::kBackpressure;
    outcome.leader = core_->leader();
    co_return outcome;
  }
  outcome.base_offset = result.range.base_offset;
  outcome.last_offset = result.range.last_offset;
  outcome.term = core_->term();
  ProposeOutcome answered = co_await await_settled(outcome, Acks::kAll, timeout);
  co_return answered;
}

ReplicaError Replica::transfer_leadership(NodeId target) {
  if (failed_ || stopping_) return ReplicaError::kFailed;
  const ProposeError error = core_->transfer_leadership(target);
  if (core_->has_ready()) wake_.notify_all();
  switch (error) {
    case ProposeError::kNone:
      return ReplicaError::kNone;
    case ProposeError::kNotLeader:
      return ReplicaError::kNotLeader;
    case ProposeError::kTransferInProgress:
      return ReplicaError::kBackpressure;
    default:
      return ReplicaError::kInvalidBatch;
  }
}

std::optional<ReplicaError> Replica::settled(const ProposeOutcome& proposal, Acks acks) const {
  const TermIndex& terms = core_->term_index();
  const Offset last = proposal.last_offset;
  const bool present = terms.covers(last) && terms.term_at(last) == proposal.term;
  if (acks == Acks::kAll && high_watermark_ > last && present) return ReplicaError::kNone;
  if (acks == Acks::kLeader && appended_last_ >= last && present) return ReplicaError::kNone;
  if (!present && last >= terms.log_start_offset()) return ReplicaError::kLost;
  if (failed_ || stopping_) return ReplicaError::kFailed;
  // No longer the leader of the proposal's term (check-quorum stepped down, or a newer term):
  // nobody here will see it commit. As Kafka answers a produce waiting in purgatory when the
  // leadership moves: NOT_LEADER_OR_FOLLOWER, and the batch may still commit under the next
  // leader.
  if (acks == Acks::kAll && (core_->role() != Role::kLeader || core_->term() != proposal.term)) {
    return ReplicaError::kNotLeader;
  }
  return std::nullopt;
}

io::Task<ProposeOutcome> Replica::propose(std::vector<std::byte> batch, Acks acks,
                                          io::Duration timeout) {
  ProposeOutcome outcome;
  if (failed_ || stopping_) {
    outcome.error = ReplicaError::kFailed;
    co_return outcome;
  }
  io::Result<protocol::RecordBatchView> view =
      protocol::RecordBatchView::parse(batch, protocol::BatchOrigin::kClient);
  if (!view) {
    outcome.error = ReplicaError::kInvalidBatch;
    co_return outcome;
  }
  const std::int32_t records = view->records_count();
  ProposeResult result = core_->propose(records, std::move(batch));
  if (!result.ok()) {
    outcome.error = result.error == ProposeError::kNotLeader ? ReplicaError::kNotLeader
                    : result.error == ProposeError::kInvalid ? ReplicaError::kInvalidBatch
                                                             : ReplicaError::kBackpressure;
    outcome.leader = core_->leader();
    co_return outcome;
  }
  outcome.base_offset = result.range.base_offset;
  outcome.last_offset = result.range.last_offset;
  outcome.term = core_->term();
  ProposeOutcome answered = co_await await_settled(outcome, acks, timeout);
  co_return answered;
}

// Waits until the accepted proposal `outcome` is settled (settled()) or `timeout` passes.
io::Task<ProposeOutcome> Replica::await_settled(ProposeOutcome outcome, Acks acks,
                                                io::Duration timeout) {
  wake_.notify_all();
  io::Clock& clock = env_.clock();
  const io::Instant deadline = clock.now() + timeout;
  for (std::uint64_t rounds = 0;; ++rounds) {
    STRAND_ASSERT(rounds < (1ull << 40), "every round waits for progress or the deadline");
    std::optional<ReplicaError> answer = settled(outcome, acks);
    if (answer) {
      outcome.error = *answer;
      break;
    }
    const io::Instant now = clock.now();
    if (now >= deadline) {
      outcome.error = ReplicaError::kTimeout;
      break;
    }
    const io::Duration remaining = deadline - now;
    const bool notified = co_await io::wait_notified(progress_, clock, remaining);
    (void)notified;
  }
  if (!outcome.ok()) outcome.leader = core_->leader();
  co_return outcome;
}

}  // namespace strand::raft
