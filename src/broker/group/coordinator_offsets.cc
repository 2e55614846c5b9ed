// Coordinator: committed offsets (OffsetCommit, OffsetFetch, OffsetDelete), group listing and
// deletion, and offset retention.
#include <spdlog/spdlog.h>

#include "broker/group/coordinator.h"

namespace strand::group {

namespace {

std::int16_t code(ErrorCode error) { return static_cast<std::int16_t>(error); }

protocol::OffsetCommitResponse commit_skeleton(const protocol::OffsetCommitRequest& request) {
  protocol::OffsetCommitResponse response;
  for (const protocol::OffsetCommitRequestTopic& topic : request.topics) {
    protocol::OffsetCommitResponseTopic& out = response.topics.emplace_back();
    out.name = topic.name;
    for (const protocol::OffsetCommitRequestPartition& partition : topic.partitions) {
      out.partitions.push_back({partition.partition_index, 0});
    }
  }
  return response;
}

protocol::Record tombstone(RecordKey key, std::int64_t wall_ms) {
  protocol::Record record;
  record.key = encode_key(key);
  record.timestamp_ms = wall_ms;
  return record;
}

// What a failed write of group records answers: NOT_COORDINATOR once this broker no longer leads
// the partition (the client finds the new coordinator and retries), REQUEST_TIMED_OUT when the
// write may still commit, COORDINATOR_NOT_AVAILABLE otherwise.
ErrorCode write_failure(const io::Error& error) {
  switch (error.kind) {
    case io::ErrorKind::kUnavailable:
      return ErrorCode::kNotCoordinator;
    case io::ErrorKind::kTimeout:
      return ErrorCode::kRequestTimedOut;
    default:
      return ErrorCode::kCoordinatorNotAvailable;
  }
}

}  // namespace

bool Coordinator::topic_partition_exists(const std::string& topic, std::int32_t partition) const {
  const cluster::TopicInfo* info = partitions_.catalog().find(topic);
  return info && partition >= 0 && partition < info->partitions;
}

io::Task<protocol::OffsetCommitResponse> Coordinator::commit(
    protocol::OffsetCommitRequest request) {
  protocol::OffsetCommitResponse response = commit_skeleton(request);
  const Now at = now();
  std::shared_ptr<Entry> entry = lookup(request.group_id);
  ErrorCode group_error = admit(request.group_id);
  if (group_error == ErrorCode::kNone && !entry) {
    // No group: only a standalone commit (generation -1) creates one; anything else is from a
    // generation that no longer exists.
    if (request.generation_id < 0) {
      entry = create(request.group_id);
    } else {
      group_error = ErrorCode::kIllegalGeneration;
    }
  } else if (group_error == ErrorCode::kNone) {
    group_error = entry->group.validate_commit(request.member_id, request.group_instance_id,
                                               request.generation_id, at);
  }
  std::vector<protocol::Record> records;
  std::vector<std::pair<TopicPartition, OffsetValue>> accepted;
  std::vector<protocol::OffsetCommitResponsePartition*> pending;
  for (std::size_t t = 0; t < request.topics.size(); ++t) {
    const protocol::OffsetCommitRequestTopic& topic = request.topics[t];
    for (std::size_t p = 0; p < topic.partitions.size(); ++p) {
      const protocol::OffsetCommitRequestPartition& partition = topic.partitions[p];
      protocol::OffsetCommitResponsePartition& out = response.topics[t].partitions[p];
      const std::string metadata = partition.committed_metadata.value_or("");
      ErrorCode error = group_error;
      if (error == ErrorCode::kNone &&
          !topic_partition_exists(topic.name, partition.partition_index)) {
        error = ErrorCode::kUnknownTopicOrPartition;
      } else if (error == ErrorCode::kNone &&
                 metadata.size() > static_cast<std::size_t>(config_.offset_metadata_max_bytes)) {
        error = ErrorCode::kOffsetMetadataTooLarge;
      }
      out.error_code = code(error);
      if (error != ErrorCode::kNone) continue;
      const TopicPartition tp{topic.name, partition.partition_index};
      const OffsetValue value{partition.committed_offset, partition.committed_leader_epoch,
                              metadata, at.wall_ms};
      protocol::Record& record = records.emplace_back();
      record.key = encode_key(OffsetKey{request.group_id, tp.topic, tp.partition});
      record.value = encode_offset_value(value);
      record.timestamp_ms = at.wall_ms;
      accepted.emplace_back(tp, value);
      pending.push_back(&out);
    }
  }
  if (records.empty()) co_return response;
  const std::int32_t partition = partition_of(request.group_id);
  const std::int32_t epoch = loaded_epoch(partition);
  io::Mutex::Guard guard = co_await write_lock(partition).lock();
  io::Result<void> written = co_await write(partition, std::move(records));
  if (!written) {
    spdlog::warn("group {}: offset commit failed: {}", request.group_id,
                 written.error().to_string());
    for (protocol::OffsetCommitResponsePartition* out : pending) {
      out->error_code = code(write_failure(written.error()));
    }
    co_return response;
  }
  // Committed. If the partition was dropped or loaded again meanwhile, whoever loads it replays
  // these records; memory here is only for the leadership it was admitted in.
  if (loaded_epoch(partition) != epoch) co_return response;
  // Applied while still holding the partition's write lock: memory follows log order.
  std::shared_ptr<Entry> current = lookup(request.group_id);
  if (!current) current = create(request.group_id);
  for (auto& [tp, value] : accepted) current->group.offsets().put(tp, std::move(value));
  co_return response;
}

protocol::OffsetFetchResponse Coordinator::fetch_offsets(
    const protocol::OffsetFetchRequest& request, std::int16_t version) {
  protocol::OffsetFetchResponse response;
  std::shared_ptr<Entry> entry = lookup(request.group_id);
  const ErrorCode refused = admit(request.group_id);
  auto answer = [&](const std::string& topic, std::int32_t partition) {
    protocol::OffsetFetchResponsePartition out;
    out.partition_index = partition;
    out.metadata = "";
    out.error_code = version < 2 ? code(refused) : 0;
    const OffsetValue* value = entry && refused == ErrorCode::kNone
                                   ? entry->group.offsets().find({topic, partition})
                                   : nullptr;
    if (value) {
      out.committed_offset = value->offset;
      out.committed_leader_epoch = value->leader_epoch;
      out.metadata = value->metadata;
    }
    return out;
  };
  if (request.topics) {
    for (const protocol::OffsetFetchRequestTopic& topic : *request.topics) {
      protocol::OffsetFetchResponseTopic& out = response.topics.emplace_back();
      out.name = topic.name;
      for (std::int32_t index : topic.partition_indexes) {
        out.partitions.push_back(answer(topic.name, index));
      }
    }
  } else if (entry && refused == ErrorCode::kNone) {
    for (const auto& [tp, value] : entry->group.offsets().all()) {
      if (response.topics.empty() || response.topics.back().name != tp.topic) {
        response.topics.push_back({tp.topic, {}});
      }
      response.topics.back().partitions.push_back(answer(tp.topic, tp.partition));
    }
  }
  response.error_code = code(refused);
  return response;
}

io::Task<protocol::OffsetDeleteResponse> Coordinator::delete_offsets(
    protocol::OffsetDeleteRequest request) {
  protocol::OffsetDeleteResponse response;
  std::shared_ptr<Entry> entry = lookup(request.group_id);
  const ErrorCode admitted = admit(request.group_id);
  if (request.group_id.empty()) {
    response.error_code = code(ErrorCode::kInvalidGroupId);
  } else if (admitted != ErrorCode::kNone) {
    response.error_code = code(admitted);
  } else if (!entry || entry->group.state() == GroupState::kDead) {
    response.error_code = code(ErrorCode::kGroupIdNotFound);
  } else if (entry->group.state() != GroupState::kEmpty &&
             entry->group.protocol_type() != "consumer") {
    response.error_code = code(ErrorCode::kNonEmptyGroup);
  }
  if (response.error_code != 0) co_return response;
  const Now at = now();
  std::vector<protocol::Record> records;
  std::vector<TopicPartition> removing;
  for (const protocol::OffsetDeleteRequestTopic& topic : request.topics) {
    protocol::OffsetDeleteResponseTopic& out = response.topics.emplace_back();
    out.name = topic.name;
    const bool in_use =
        entry->group.state() != GroupState::kEmpty && entry->group.subscribed_to(topic.name);
    for (std::int32_t index : topic.partition_indexes) {
      ErrorCode error = ErrorCode::kNone;
      if (!topic_partition_exists(topic.name, index)) {
        error = ErrorCode::kUnknownTopicOrPartition;
      } else if (in_use) {
        error = ErrorCode::kGroupSubscribedToTopic;
      } else if (entry->group.offsets().find({topic.name, index})) {
        records.push_back(tombstone(OffsetKey{request.group_id, topic.name, index}, at.wall_ms));
        removing.push_back({topic.name, index});
      }
      out.partitions.push_back({index, code(error)});
    }
  }
  if (records.empty()) co_return response;
  const std::int32_t partition = partition_of(request.group_id);
  io::Mutex::Guard guard = co_await write_lock(partition).lock();
  io::Result<void> written = co_await write(partition, std::move(records));
  if (!written) {
    response.error_code = code(write_failure(written.error()));
    co_return response;
  }
  for (const TopicPartition& tp : removing) entry->group.offsets().erase(tp);
  co_return response;
}

io::Task<protocol::DeleteGroupsResponse> Coordinator::delete_groups(
    protocol::DeleteGroupsRequest request) {
  protocol::DeleteGroupsResponse response;
  for (const std::string& group_id : request.groups_names) {
    std::shared_ptr<Entry> entry = lookup(group_id);
    ErrorCode error = admit(group_id);
    if (error == ErrorCode::kNone && !entry) {
      error = ErrorCode::kGroupIdNotFound;
    } else if (error == ErrorCode::kNone && entry->group.state() != GroupState::kEmpty) {
      error = ErrorCode::kNonEmptyGroup;
    } else if (error == ErrorCode::kNone) {
      const ErrorCode removed = co_await remove_group(entry);
      error = removed;
    }
    response.results.push_back({group_id, code(error)});
  }
  co_return response;
}

// Tombstones for the group's offsets and metadata, then the group is gone.
io::Task<protocol::ErrorCode> Coordinator::remove_group(std::shared_ptr<Entry> entry) {
  const std::string group_id = entry->group.id();
  const std::int64_t wall_ms = env_.clock().wall_ms();
  std::vector<protocol::Record> records;
  for (const auto& [tp, value] : entry->group.offsets().all()) {
    records.push_back(tombstone(OffsetKey{group_id, tp.topic, tp.partition}, wall_ms));
  }
  records.push_back(tombstone(GroupKey{group_id}, wall_ms));
  const std::int32_t partition = partition_of(group_id);
  io::Mutex::Guard guard = co_await write_lock(partition).lock();
  if (entry->removed) co_return ErrorCode::kGroupIdNotFound;
  if (entry->group.state() != GroupState::kEmpty) co_return ErrorCode::kNonEmptyGroup;
  io::Result<void> written = co_await write(partition, std::move(records));
  if (!written) co_return write_failure(written.error());
  if (entry->removed) co_return ErrorCode::kNone;  // dropped meanwhile: the tombstones are written
  if (entry->group.state() != GroupState::kEmpty) {
    // Someone joined while the tombstones were written; the group lives on (Kafka would
    // re-persist it on the next generation).
    co_return ErrorCode::kNonEmptyGroup;
  }
  entry->group.mark_dead(now());
  entry->removed = true;
  auto it = groups_.find(group_id);
  if (it != groups_.end() && it->second == entry) groups_.erase(it);
  co_return ErrorCode::kNone;
}

protocol::ListGroupsResponse Coordinator::list_groups() const {
  protocol::ListGroupsResponse response;
  if (!accepting_) response.error_code = code(ErrorCode::kCoordinatorNotAvailable);
  for (const auto& [id, entry] : groups_) {
    response.groups.push_back({id, entry->group.protocol_type()});
  }
  return response;
}

protocol::DescribeGroupsResponse Coordinator::describe_groups(
    const protocol::DescribeGroupsRequest& request) const {
  protocol::DescribeGroupsResponse response;
  for (const std::string& group_id : request.groups) {
    protocol::DescribedGroup& out = response.groups.emplace_back();
    out.group_id = group_id;
    const ErrorCode admitted = admit(group_id);
    if (admitted != ErrorCode::kNone) {
      out.error_code = code(admitted);
      continue;
    }
    std::shared_ptr<Entry> entry = lookup(group_id);
    if (!entry) {
      out.group_state = std::string(state_name(GroupState::kDead));
      continue;
    }
    const Group& group = entry->group;
    out.group_state = std::string(state_name(group.state()));
    out.protocol_type = group.protocol_type();
    if (group.state() == GroupState::kStable) out.protocol_data = group.protocol_name();
    for (MemberSummary& member : group.describe_members()) {
      out.members.push_back({member.member_id, member.group_instance_id, member.client_id,
                             member.client_host, std::move(member.metadata),
                             std::move(member.assignment)});
    }
  }
  return response;
}

io::Task<void> Coordinator::retention_loop() {
  const io::Duration interval = io::Duration::ms(config_.offsets_retention_check_interval_ms);
  for (;;) {
    co_await env_.clock().sleep(interval);
    expire_offsets_now();
  }
}

void Coordinator::expire_offsets_now() {
  const Now at = now();
  const std::int64_t retention_ms = config_.offsets_retention_minutes * 60'000;
  std::vector<std::pair<std::shared_ptr<Entry>, std::vector<TopicPartition>>> due;
  for (const auto& [id, entry] : groups_) {
    std::vector<TopicPartition> expired = entry->group.expired_offsets(at, retention_ms);
    const bool dead = entry->group.state() == GroupState::kEmpty &&
                      entry->group.offsets().all().size() == expired.size();
    if (!expired.empty() || dead) due.emplace_back(entry, std::move(expired));
  }
  // Spawned after the scan: a write that completes without suspending removes groups at once.
  for (auto& [entry, expired] : due) writes_.spawn(expire(entry, std::move(expired)));
}

// Tombstones for expired offsets; an Empty group left with none is removed as well.
io::Task<void> Coordinator::expire(std::shared_ptr<Entry> entry,
                                   std::vector<TopicPartition> expired) {
  const std::string group_id = entry->group.id();
  const std::int64_t wall_ms = env_.clock().wall_ms();
  std::vector<protocol::Record> records;
  for (const TopicPartition& tp : expired) {
    records.push_back(tombstone(OffsetKey{group_id, tp.topic, tp.partition}, wall_ms));
  }
  if (!records.empty()) {
    const std::int32_t partition = partition_of(group_id);
    io::Mutex::Guard guard = co_await write_lock(partition).lock();
    io::Result<void> written = co_await write(partition, std::move(records));
    if (!written) {
      spdlog::warn("group {}: expiring offsets failed: {}", group_id, written.error().to_string());
      co_return;
    }
    for (const TopicPartition& tp : expired) entry->group.offsets().erase(tp);
    spdlog::info("group {}: {} committed offsets expired", group_id, expired.size());
  }
  if (entry->removed || entry->group.state() != GroupState::kEmpty ||
      !entry->group.offsets().empty()) {
    co_return;
  }
  const ErrorCode removed = co_await remove_group(entry);
  if (removed == ErrorCode::kNone) spdlog::info("group {}: removed (empty, no offsets)", group_id);
}

}  // namespace strand::group
