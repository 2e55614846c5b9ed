#include "broker/group/coordinator.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "broker/cluster/controller.h"
#include "broker/group/replay.h"
#include "broker/protocol/batch_builder.h"
#include "io/timed_wait.h"

namespace strand::group {

namespace {

// Bounds one read while loading a partition, and how long the timer sleeps with nothing due.
constexpr std::uint32_t kLoadReadBytes = 1u << 20;
constexpr io::Duration kIdleTimerWait = io::Duration::s(60);
// How often a clustered coordinator looks at which __consumer_offsets partitions it leads.
constexpr io::Duration kOwnershipEvery = io::Duration::ms(100);
constexpr std::int16_t kOffsetsReplicationFactorMax = 3;
// Kafka sets no bound on a group id; Strand refuses longer ones (INVALID_GROUP_ID), so a group's
// record keys and every answer naming it stay small.
constexpr std::size_t kGroupIdMaxBytes = 1024;

GroupLimits limits_from(const BrokerConfig& config) {
  GroupLimits limits;
  limits.initial_rebalance_delay = io::Duration::ms(config.group_initial_rebalance_delay_ms);
  limits.session_timeout_min_ms = config.group_min_session_timeout_ms;
  limits.session_timeout_max_ms = config.group_max_session_timeout_ms;
  limits.size_max = config.group_max_size;
  return limits;
}

std::int16_t code(ErrorCode error) { return static_cast<std::int16_t>(error); }

protocol::JoinGroupResponse to_response(const JoinResult& result) {
  protocol::JoinGroupResponse response;
  response.error_code = code(result.error);
  response.generation_id = result.generation_id;
  response.protocol_name = result.protocol_name;
  response.leader = result.leader;
  response.member_id = result.member_id;
  for (const JoinedMember& member : result.members) {
    response.members.push_back({member.member_id, member.group_instance_id, member.metadata});
  }
  return response;
}

}  // namespace

Coordinator::Coordinator(io::Env& env, const BrokerConfig& config,
                         cluster::PartitionManager& partitions)
    : env_(env),
      config_(config),
      partitions_(partitions),
      limits_(limits_from(config)),
      offsets_partitions_(config.offsets_topic_num_partitions) {}

Coordinator::~Coordinator() = default;

Now Coordinator::now() { return Now{env_.clock().now(), env_.clock().wall_ms()}; }

std::int32_t Coordinator::partition_of(const std::string& group_id) const {
  return offsets_partition_for(group_id, offsets_partitions_);
}

io::Mutex& Coordinator::write_lock(std::int32_t partition) {
  std::unique_ptr<io::Mutex>& lock = write_locks_[partition];
  if (!lock) lock = std::make_unique<io::Mutex>();
  return *lock;
}

std::shared_ptr<Coordinator::Entry> Coordinator::lookup(const std::string& group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : it->second;
}

std::shared_ptr<Coordinator::Entry> Coordinator::create(const std::string& group_id) {
  std::shared_ptr<Entry>& entry = groups_[group_id];
  if (!entry) entry = std::make_shared<Entry>(group_id, limits_, env_.rng());
  return entry;
}

const Group* Coordinator::find(const std::string& group_id) const {
  std::shared_ptr<Entry> entry = lookup(group_id);
  return entry ? &entry->group : nullptr;
}

io::Task<io::Result<void>> Coordinator::start() {
  const cluster::TopicInfo* topic = partitions_.catalog().find(kOffsetsTopic);
  if (topic && !partitions_.clustered()) {
    offsets_partitions_ = topic->partitions;
    for (std::int32_t partition = 0; partition < offsets_partitions_; ++partition) {
      io::Result<Loaded> loaded = co_await load_partition(partition);
      if (!loaded) co_return std::move(loaded).error();
      for (std::shared_ptr<Entry>& entry : loaded->groups) {
        const std::string id = entry->group.id();
        groups_[id] = std::move(entry);
      }
      growth_[partition] = loaded->growth;
    }
    spdlog::info("group coordinator: loaded {} groups from {} partitions of {}", groups_.size(),
                 offsets_partitions_, kOffsetsTopic);
  }
  if (partitions_.clustered()) loops_.spawn(ownership_loop());
  loops_.spawn(timer_loop());
  loops_.spawn(retention_loop());
  co_return io::ok();
}

io::Task<io::Result<Coordinator::Loaded>> Coordinator::load_partition(std::int32_t index) {
  Loaded loaded;
  std::shared_ptr<cluster::Partition> partition =
      partitions_.find(storage::TopicPartition{kOffsetsTopic, index});
  if (!partition) co_return std::move(loaded);
  ReplayResult state;
  io::Result<Replayed> replayed = co_await replay_range(*partition, partition->log_start_offset(),
                                                        partition->high_watermark(), state);
  if (!replayed) co_return std::move(replayed).error();
  prune_empty(state);
  if (state.skipped > 0) {
    spdlog::warn("{}-{}: {} records did not decode and were skipped", kOffsetsTopic, index,
                 state.skipped);
  }
  loaded.growth.records = state.records;
  loaded.growth.bytes = replayed->bytes;
  for (auto& [group_id, replayed_group] : state.groups) {
    GroupValue metadata = replayed_group.metadata.value_or(GroupValue{});
    auto entry =
        std::make_shared<Entry>(Group::restored(group_id, limits_, env_.rng(), metadata, now()));
    for (const auto& [tp, value] : replayed_group.offsets.all()) {
      entry->group.offsets().put(tp, value);
    }
    loaded.growth.live_records +=
        (replayed_group.metadata ? 1 : 0) + replayed_group.offsets.all().size();
    loaded.groups.push_back(std::move(entry));
  }
  co_return std::move(loaded);
}

io::Task<io::Result<Coordinator::Replayed>> Coordinator::replay_range(cluster::Partition& partition,
                                                                      std::int64_t from,
                                                                      std::int64_t to,
                                                                      ReplayResult& state) {
  Replayed replayed{from, 0};
  for (std::uint64_t rounds = 0; replayed.next < to; ++rounds) {
    STRAND_ASSERT(rounds < (1ull << 40), "each read moves forward");
    io::Result<std::vector<std::byte>> bytes =
        co_await partition.read(replayed.next, kLoadReadBytes);
    if (!bytes) co_return std::move(bytes).error();
    std::span<const std::byte> rest(*bytes);
    const std::int64_t before = replayed.next;
    while (!rest.empty()) {
      io::Result<std::span<const std::byte>> whole = protocol::next_batch(rest);
      if (!whole) break;
      io::Result<protocol::RecordBatchView> batch =
          protocol::RecordBatchView::parse(*whole, protocol::BatchOrigin::kLog);
      if (!batch) co_return std::move(batch).error();
      replayed.next = batch->last_offset() + 1;
      replayed.bytes += whole->size();
      if (batch->control()) continue;  // Raft's, not the coordinator's
      io::Result<std::vector<protocol::Record>> records = protocol::read_records(*batch);
      if (!records) {
        spdlog::warn("{}-{}: skipping batch at {}: {}", kOffsetsTopic,
                     partition.topic_partition().partition, batch->base_offset(),
                     records.error().to_string());
        continue;
      }
      for (const protocol::Record& record : *records) {
        apply_record(state, record.key, record.value);
      }
    }
    if (replayed.next == before) break;  // nothing readable: the log ends here for us
  }
  co_return std::move(replayed);
}

ErrorCode Coordinator::admit(const std::string& group_id) const {
  if (group_id.size() > kGroupIdMaxBytes) return ErrorCode::kInvalidGroupId;
  if (!accepting_) return ErrorCode::kCoordinatorNotAvailable;
  if (!partitions_.clustered()) return ErrorCode::kNone;
  auto it = owned_.find(partition_of(group_id));
  if (it == owned_.end()) return ErrorCode::kNotCoordinator;
  return it->second.loaded ? ErrorCode::kNone : ErrorCode::kCoordinatorLoadInProgress;
}

std::int32_t Coordinator::loaded_epoch(std::int32_t partition) const {
  if (!partitions_.clustered()) return 0;
  auto it = owned_.find(partition);
  return it != owned_.end() && it->second.loaded ? it->second.epoch : -1;
}

std::int16_t Coordinator::offsets_replication_factor() const {
  if (!partitions_.clustered()) return 1;
  const std::size_t brokers = partitions_.controller()->image().unfenced_brokers().size();
  return static_cast<std::int16_t>(
      std::clamp<std::size_t>(brokers, 1, static_cast<std::size_t>(kOffsetsReplicationFactorMax)));
}

io::Task<void> Coordinator::ownership_loop() {
  for (;;) {
    check_ownership();
    co_await env_.clock().sleep(kOwnershipEvery);
  }
}

// Follows the leadership of every __consumer_offsets partition: a partition led here in a new
// epoch is loaded once the leader's own first entry is committed (then every entry of earlier
// terms is too, and the replay sees every acknowledged write); a partition no longer led here,
// or led in another epoch than it was loaded in, is dropped.
void Coordinator::check_ownership() {
  if (!accepting_) return;
  const cluster::TopicInfo* topic = partitions_.catalog().find(kOffsetsTopic);
  if (!topic) {
    unload_all();
    return;
  }
  if (topic->partitions != offsets_partitions_) {
    // Only a new topic changes the count (CreatePartitions on it is refused): start over.
    unload_all();
    offsets_partitions_ = topic->partitions;
  }
  for (std::int32_t index = 0; index < offsets_partitions_; ++index) {
    std::shared_ptr<cluster::Partition> partition =
        partitions_.find(storage::TopicPartition{kOffsetsTopic, index});
    const raft::Replica* replica = partition ? partition->replica() : nullptr;
    const bool leading = replica && replica->role() == raft::Role::kLeader && !replica->failed();
    const std::int32_t epoch = leading ? static_cast<std::int32_t>(replica->term()) : -1;
    auto it = owned_.find(index);
    if (it != owned_.end() && it->second.epoch != epoch) {
      unload(index);
      it = owned_.end();
    }
    if (!leading) continue;
    if (it == owned_.end()) {
      Ownership ownership;
      ownership.epoch = epoch;
      ownership.load_from_end = partition->log_end_offset();
      it = owned_.emplace(index, ownership).first;
    }
    Ownership& ownership = it->second;
    // One load per partition at a time: a load for an earlier epoch may still be reading.
    if (!ownership.loaded && !loads_running_.contains(index) &&
        partition->high_watermark() >= ownership.load_from_end) {
      loads_running_.insert(index);
      writes_.spawn(load_owned(index, epoch));
    }
  }
}

io::Task<void> Coordinator::load_owned(std::int32_t partition, std::int32_t epoch) {
  io::Result<Loaded> loaded = co_await load_partition(partition);
  loads_running_.erase(partition);
  auto it = owned_.find(partition);
  const bool current = it != owned_.end() && it->second.epoch == epoch && accepting_;
  if (!loaded) {
    spdlog::warn("group coordinator: loading {}-{}: {}", kOffsetsTopic, partition,
                 loaded.error().to_string());
    if (current) unload(partition);  // the next check starts again if this broker still leads
    co_return;
  }
  // A load for a leadership that is over installs nothing; the next check loads again.
  if (!current) co_return;
  for (std::shared_ptr<Entry>& entry : loaded->groups) {
    const std::string id = entry->group.id();
    groups_[id] = std::move(entry);
  }
  it->second.loaded = true;
  growth_[partition] = loaded->growth;
  spdlog::info("group coordinator: leading {}-{} in epoch {}, {} groups loaded", kOffsetsTopic,
               partition, epoch, loaded->groups.size());
  deadlines_changed_.notify_all();
}

void Coordinator::unload_all() {
  std::vector<std::int32_t> owned;
  for (const auto& [partition, ownership] : owned_) owned.push_back(partition);
  for (std::int32_t partition : owned) unload(partition);
}

void Coordinator::unload(std::int32_t partition) {
  owned_.erase(partition);
  growth_.erase(partition);
  std::vector<std::shared_ptr<Entry>> dropped;
  for (auto it = groups_.begin(); it != groups_.end();) {
    if (partition_of(it->first) != partition) {
      ++it;
      continue;
    }
    it->second->removed = true;
    dropped.push_back(std::move(it->second));
    it = groups_.erase(it);
  }
  for (const std::shared_ptr<Entry>& entry : dropped) {
    entry->group.abandon(ErrorCode::kNotCoordinator);
    dispatch(*entry);
  }
  if (!dropped.empty()) {
    spdlog::info("group coordinator: no longer leading {}-{}, {} groups dropped", kOffsetsTopic,
                 partition, dropped.size());
  }
}

void Coordinator::stop_waiting() {
  accepting_ = false;
  std::vector<std::shared_ptr<Entry>> entries;
  for (const auto& [id, entry] : groups_) entries.push_back(entry);
  for (const std::shared_ptr<Entry>& entry : entries) {
    entry->group.abandon(ErrorCode::kNotCoordinator);
    dispatch(*entry);
  }
}

io::Task<void> Coordinator::close() {
  STRAND_ASSERT(!accepting_, "stop_waiting() before close()");
  // The loops never suspend inside a write (writes run in writes_), so cancelling them is safe.
  loops_.cancel();
  co_await writes_.join();
}

io::Task<protocol::ErrorCode> Coordinator::ensure_offsets_topic() {
  if (partitions_.catalog().find(kOffsetsTopic)) co_return ErrorCode::kNone;
  io::Mutex::Guard guard = co_await creating_topic_.lock();
  if (partitions_.catalog().find(kOffsetsTopic)) co_return ErrorCode::kNone;
  std::map<std::string, std::string> configs{
      {"retention.ms", "-1"},
      {"segment.bytes", std::to_string(config_.offsets_topic_segment_bytes)}};
  std::string name = kOffsetsTopic;
  const std::int16_t replication = offsets_replication_factor();
  cluster::TopicError created =
      co_await partitions_.create_topic(std::move(name), config_.offsets_topic_num_partitions,
                                        replication, std::move(configs), false);
  if (!created.ok() && created.code != ErrorCode::kTopicAlreadyExists) {
    spdlog::error("creating {}: {}", kOffsetsTopic, created.message);
    co_return ErrorCode::kCoordinatorNotAvailable;
  }
  const cluster::TopicInfo* topic = partitions_.catalog().find(kOffsetsTopic);
  if (topic) offsets_partitions_ = topic->partitions;
  co_return ErrorCode::kNone;
}

// Hands out what the group's last operation produced: answers to waiting requests, and records
// to persist (in the background, in order per partition).
void Coordinator::dispatch(Entry& entry) {
  Effects effects = entry.group.take_effects();
  std::vector<std::shared_ptr<Waiting<JoinResult>>> joins;
  std::vector<std::shared_ptr<Waiting<SyncResult>>> syncs;
  for (auto& [id, result] : effects.joins) {
    auto it = waiting_joins_.find(id);
    if (it == waiting_joins_.end()) continue;
    it->second->result = std::move(result);
    joins.push_back(std::move(it->second));
    waiting_joins_.erase(it);
  }
  for (auto& [id, result] : effects.syncs) {
    auto it = waiting_syncs_.find(id);
    if (it == waiting_syncs_.end()) continue;
    it->second->result = std::move(result);
    syncs.push_back(std::move(it->second));
    waiting_syncs_.erase(it);
  }
  if (!effects.persists.empty()) {
    std::shared_ptr<Entry> shared = lookup(entry.group.id());
    for (Persist& record : effects.persists) {
      if (shared) writes_.spawn(persist(shared, std::move(record)));
    }
  }
  deadlines_changed_.notify_all();
  // Last: setting an event resumes its waiter on this stack.
  for (const auto& waiting : joins) waiting->done.set();
  for (const auto& waiting : syncs) waiting->done.set();
}

io::Task<void> Coordinator::persist(std::shared_ptr<Entry> entry, Persist persist) {
  const std::string group_id = entry->group.id();
  std::vector<protocol::Record> records(1);
  records[0].key = encode_key(GroupKey{group_id});
  records[0].value = encode_group_value(persist.value);
  records[0].timestamp_ms = env_.clock().wall_ms();
  const std::int32_t partition = partition_of(group_id);
  io::Mutex::Guard guard = co_await write_lock(partition).lock();
  io::Result<void> written = co_await write(partition, std::move(records));
  if (!written) {
    spdlog::warn("group {}: persisting generation {} failed: {}", group_id,
                 persist.value.generation, written.error().to_string());
  }
  if (entry->removed || !persist.ack_generation) co_return;
  entry->group.persisted(*persist.ack_generation, written.ok(), now());
  dispatch(*entry);
}

io::Task<io::Result<void>> Coordinator::write(std::int32_t partition,
                                              std::vector<protocol::Record> records) {
  io::Result<storage::AppendResult> appended =
      co_await append_records(partition, std::move(records));
  if (!appended) co_return std::move(appended).error();
  co_return io::ok();
}

io::Task<io::Result<storage::AppendResult>> Coordinator::append_records(
    std::int32_t partition, std::vector<protocol::Record> records) {
  const ErrorCode ensured = co_await ensure_offsets_topic();
  if (ensured != ErrorCode::kNone) {
    co_return io::Error{io::ErrorKind::kIoError, std::string(kOffsetsTopic) + " is unavailable"};
  }
  std::shared_ptr<cluster::Partition> target =
      partitions_.find(storage::TopicPartition{kOffsetsTopic, partition});
  if (!target) {
    co_return io::Error{io::ErrorKind::kNotFound, std::string(kOffsetsTopic) + "-" +
                                                      std::to_string(partition) + " is missing"};
  }
  std::vector<std::byte> batch = protocol::build_batch(records);
  const std::uint64_t batch_bytes = batch.size();
  io::Result<storage::AppendResult> appended =
      co_await target->append(std::move(batch), cluster::Acks::kAll);
  if (appended) grew(partition, records.size(), batch_bytes);
  co_return std::move(appended);
}

io::Task<void> Coordinator::timer_loop() {
  for (;;) {
    std::optional<io::Instant> next;
    for (const auto& [id, entry] : groups_) {
      std::optional<io::Instant> due = entry->group.next_deadline();
      if (due && (!next || *due < *next)) next = due;
    }
    const io::Instant at = env_.clock().now();
    const io::Duration wait = next ? std::max(*next - at, io::Duration{}) : kIdleTimerWait;
    const bool notified = co_await io::wait_notified(deadlines_changed_, env_.clock(), wait);
    if (!notified) tick_due();
  }
}

void Coordinator::tick_due() {
  const Now at = now();
  std::vector<std::shared_ptr<Entry>> due;
  for (const auto& [id, entry] : groups_) {
    std::optional<io::Instant> deadline = entry->group.next_deadline();
    if (deadline && *deadline <= at.instant) due.push_back(entry);
  }
  for (const std::shared_ptr<Entry>& entry : due) {
    if (entry->removed) continue;
    entry->group.tick(at);
    dispatch(*entry);
  }
}

// ---- Membership ----------------------------------------------------------------------------

io::Task<protocol::JoinGroupResponse> Coordinator::join(protocol::JoinGroupRequest request,
                                                        std::int16_t version, ClientInfo client) {
  JoinResult refused;
  refused.member_id = request.member_id;
  refused.error = admit(request.group_id);
  if (request.group_id.empty()) refused.error = ErrorCode::kInvalidGroupId;
  std::shared_ptr<Entry> entry = lookup(request.group_id);
  if (!entry && !request.member_id.empty()) refused.error = ErrorCode::kUnknownMemberId;
  if (refused.error != ErrorCode::kNone) co_return to_response(refused);
  if (!entry) entry = create(request.group_id);
  JoinRequest joining;
  joining.member_id = request.member_id;
  joining.group_instance_id = request.group_instance_id;
  joining.client_id = client.client_id;
  joining.client_host = client.client_host;
  joining.session_timeout_ms = request.session_timeout_ms;
  joining.rebalance_timeout_ms =
      version >= 1 ? request.rebalance_timeout_ms : request.session_timeout_ms;
  joining.protocol_type = request.protocol_type;
  for (protocol::JoinGroupRequestProtocol& protocol : request.protocols) {
    joining.protocols.push_back({protocol.name, std::move(protocol.metadata)});
  }
  joining.require_known_member_id = version >= 4;
  const RequestId id = next_request_id_++;
  auto waiting = std::make_shared<Waiting<JoinResult>>();
  waiting_joins_[id] = waiting;
  std::optional<JoinResult> answer = entry->group.join(id, joining, now());
  if (answer) {
    waiting_joins_.erase(id);
    dispatch(*entry);
    co_return to_response(*answer);
  }
  dispatch(*entry);
  co_await waiting->done.wait();
  STRAND_ASSERT(waiting->result.has_value(), "a resolved join has its answer");
  co_return to_response(*waiting->result);
}

io::Task<protocol::SyncGroupResponse> Coordinator::sync(protocol::SyncGroupRequest request) {
  protocol::SyncGroupResponse response;
  std::shared_ptr<Entry> entry = lookup(request.group_id);
  const ErrorCode admitted = admit(request.group_id);
  if (request.group_id.empty()) {
    response.error_code = code(ErrorCode::kInvalidGroupId);
  } else if (admitted != ErrorCode::kNone) {
    response.error_code = code(admitted);
  } else if (!entry) {
    response.error_code = code(ErrorCode::kUnknownMemberId);
  }
  if (response.error_code != 0) co_return response;
  SyncRequest syncing;
  syncing.member_id = request.member_id;
  syncing.group_instance_id = request.group_instance_id;
  syncing.generation_id = request.generation_id;
  for (protocol::SyncGroupRequestAssignment& assignment : request.assignments) {
    syncing.assignments.emplace_back(assignment.member_id, std::move(assignment.assignment));
  }
  const RequestId id = next_request_id_++;
  auto waiting = std::make_shared<Waiting<SyncResult>>();
  waiting_syncs_[id] = waiting;
  std::optional<SyncResult> answer = entry->group.sync(id, syncing, now());
  if (answer) {
    waiting_syncs_.erase(id);
    dispatch(*entry);
    response.error_code = code(answer->error);
    response.assignment = std::move(answer->assignment);
    co_return response;
  }
  dispatch(*entry);
  co_await waiting->done.wait();
  STRAND_ASSERT(waiting->result.has_value(), "a resolved sync has its answer");
  response.error_code = code(waiting->result->error);
  response.assignment = std::move(waiting->result->assignment);
  co_return response;
}

protocol::HeartbeatResponse Coordinator::heartbeat(const protocol::HeartbeatRequest& request) {
  protocol::HeartbeatResponse response;
  std::shared_ptr<Entry> entry = lookup(request.group_id);
  ErrorCode error = request.group_id.empty() ? ErrorCode::kInvalidGroupId : admit(request.group_id);
  if (error == ErrorCode::kNone && !entry) error = ErrorCode::kUnknownMemberId;
  if (error == ErrorCode::kNone) {
    error = entry->group.heartbeat(request.member_id, request.group_instance_id,
                                   request.generation_id, now());
    dispatch(*entry);
  }
  response.error_code = code(error);
  return response;
}

protocol::LeaveGroupResponse Coordinator::leave(const protocol::LeaveGroupRequest& request,
                                                std::int16_t version) {
  protocol::LeaveGroupResponse response;
  std::vector<protocol::MemberIdentity> members = request.members;
  if (version <= 2) members = {{request.member_id, std::nullopt}};
  ErrorCode group_error = admit(request.group_id);
  if (request.group_id.empty()) group_error = ErrorCode::kInvalidGroupId;
  std::shared_ptr<Entry> entry = lookup(request.group_id);
  for (const protocol::MemberIdentity& member : members) {
    ErrorCode error = group_error;
    if (error == ErrorCode::kNone && !entry) error = ErrorCode::kUnknownMemberId;
    if (error == ErrorCode::kNone) {
      error = entry->group.leave(member.member_id, member.group_instance_id, now());
      dispatch(*entry);
    }
    response.members.push_back({member.member_id, member.group_instance_id, code(error)});
  }
  if (version <= 2 && !response.members.empty()) {
    response.error_code = response.members[0].error_code;
    response.members.clear();
  } else {
    response.error_code = code(group_error);
  }
  return response;
}

}  // namespace strand::group
