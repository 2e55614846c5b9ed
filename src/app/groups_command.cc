#include "app/groups_command.h"

#include <cstdio>
#include <ctime>
#include <map>
#include <set>

#include "broker/protocol/list_offsets.h"
#include "client/group_admin.h"
#include "client/group_report.h"

namespace strand::app {

namespace {

using client::GroupAdmin;
using client::TopicPartition;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;

int failed(const std::string& what, const io::Error& error) {
  std::fprintf(stderr, "strand: %s: %s\n", what.c_str(), error.to_string().c_str());
  return kExitFailed;
}

int refused(const std::string& message) {
  std::fprintf(stderr, "strand: %s\n", message.c_str());
  return kExitFailed;
}

bool inactive(const client::GroupDescription& group) {
  return group.members.empty() && (group.state == "Empty" || group.state == "Dead");
}

// The high watermark of every partition in `partitions`, topic by topic. A topic whose offsets
// can't be read (deleted since its offsets were committed) is left out, with a warning.
io::Task<std::map<TopicPartition, std::int64_t>> log_end_offsets(
    client::Client& client, std::set<TopicPartition> partitions) {
  std::map<std::string, std::vector<std::int32_t>> by_topic;
  for (const TopicPartition& tp : partitions) by_topic[tp.topic].push_back(tp.partition);
  std::map<TopicPartition, std::int64_t> out;
  for (const auto& [topic, indexes] : by_topic) {
    io::Result<std::map<std::int32_t, std::int64_t>> ends =
        co_await client.list_offsets(topic, indexes, protocol::kLatestTimestamp);
    if (!ends) {
      std::fprintf(stderr, "strand: warning: no log end offsets for %s: %s\n", topic.c_str(),
                   ends.error().to_string().c_str());
      continue;
    }
    for (const auto& [partition, offset] : *ends) out[TopicPartition{topic, partition}] = offset;
  }
  co_return std::move(out);
}

io::Task<int> describe_one(client::Client& client, GroupAdmin& admin, std::string group) {
  io::Result<client::GroupDescription> described = co_await admin.describe_group(group);
  if (!described) co_return failed("cannot describe group " + group, described.error());
  if (described->state == "Dead")
    co_return refused("consumer group '" + group + "' does not exist");
  io::Result<client::GroupOffsets> committed = co_await admin.committed_offsets(group);
  if (!committed) co_return failed("cannot fetch the offsets of group " + group, committed.error());
  std::set<TopicPartition> partitions;
  for (const auto& [tp, offset] : *committed) partitions.insert(tp);
  for (const client::GroupMemberDescription& member : described->members) {
    partitions.insert(member.assignment.begin(), member.assignment.end());
  }
  std::map<TopicPartition, std::int64_t> ends =
      co_await log_end_offsets(client, std::move(partitions));
  std::string protocol = described->protocol_type.empty() ? "-" : described->protocol_type;
  if (!described->protocol.empty()) protocol += "/" + described->protocol;
  std::printf("Group: %s\tState: %s\tProtocol: %s\tMembers: %zu\tCoordinator: %d\n", group.c_str(),
              described->state.c_str(), protocol.c_str(), described->members.size(),
              described->coordinator_id);
  if (described->members.empty()) {
    std::printf("Consumer group '%s' has no active members.\n", group.c_str());
  }
  const std::vector<client::LagRow> rows = client::lag_rows(*described, *committed, ends);
  std::vector<std::vector<std::string>> cells;
  for (const client::LagRow& row : rows) cells.push_back(client::lag_cells(group, row));
  if (!cells.empty()) {
    const std::string table = client::format_table(client::lag_header(), cells);
    std::printf("\n%s", table.c_str());
  }
  co_return kExitOk;
}

// The partitions --topic and --all-topics name, with their log start and end offsets and
// committed offsets.
io::Task<io::Result<std::map<TopicPartition, client::PartitionPosition>>> reset_positions(
    client::Client& client, const GroupsOptions& options, const client::GroupOffsets& committed) {
  std::vector<client::TopicSelection> selections = options.topics;
  if (options.all_topics) {  // the committed partitions only, as Kafka does
    for (const auto& [tp, offset] : committed) {
      if (selections.empty() || selections.back().topic != tp.topic) {
        selections.push_back({tp.topic, {}});
      }
      selections.back().partitions.push_back(tp.partition);
    }
  }
  std::map<TopicPartition, client::PartitionPosition> out;
  for (const client::TopicSelection& selection : selections) {
    const std::string topic = selection.topic;
    io::Result<client::TopicDescription> described = co_await client.describe_topic(topic);
    if (!described) co_return std::move(described).error();
    std::map<std::int32_t, client::PartitionPosition> found;
    for (const client::PartitionDescription& partition : described->partitions) {
      found[partition.partition] = {partition.log_start_offset, partition.log_end_offset, {}, {}};
    }
    std::vector<std::int32_t> wanted = selection.partitions;
    if (wanted.empty()) {
      for (const auto& [partition, position] : found) wanted.push_back(partition);
    }
    for (std::int32_t partition : wanted) {
      const TopicPartition tp{topic, partition};
      if (!found.contains(partition)) {
        co_return io::Error{io::ErrorKind::kNotFound,
                            "topic " + topic + " has no partition " + std::to_string(partition)};
      }
      client::PartitionPosition position = found[partition];
      auto it = committed.find(tp);
      if (it != committed.end()) position.committed = it->second;
      out[tp] = position;
    }
    if (options.reset.strategy == client::ResetStrategy::kToDatetime && !wanted.empty()) {
      io::Result<std::map<std::int32_t, std::int64_t>> at_time =
          co_await client.list_offsets(topic, wanted, options.reset.value);
      if (!at_time) co_return std::move(at_time).error();
      for (const auto& [partition, offset] : *at_time) {
        out[TopicPartition{topic, partition}].offset_for_time = offset;
      }
    }
  }
  co_return std::move(out);
}

io::Task<int> reset_offsets(client::Client& client, GroupAdmin& admin,
                            const GroupsOptions& options) {
  const std::string group = options.groups.front();
  io::Result<client::GroupDescription> described = co_await admin.describe_group(group);
  if (!described) co_return failed("cannot describe group " + group, described.error());
  if (!inactive(*described)) {
    co_return refused("offsets can only be reset while group '" + group +
                      "' is inactive, but its state is " + described->state + " with " +
                      std::to_string(described->members.size()) +
                      " member(s); stop its consumers first");
  }
  io::Result<client::GroupOffsets> committed = co_await admin.committed_offsets(group);
  if (!committed) co_return failed("cannot fetch the offsets of group " + group, committed.error());
  io::Result<std::map<TopicPartition, client::PartitionPosition>> positions =
      co_await reset_positions(client, options, *committed);
  if (!positions) co_return failed("cannot reset the offsets of group " + group, positions.error());
  if (positions->empty()) co_return refused("no partitions to reset in group '" + group + "'");
  client::GroupOffsets planned;
  std::vector<std::vector<std::string>> cells;
  for (const auto& [tp, position] : *positions) {
    io::Result<std::int64_t> offset = client::plan_reset(options.reset, position);
    if (!offset) co_return failed("cannot reset " + tp.to_string(), offset.error());
    planned[tp] = *offset;
    cells.push_back({group, tp.topic, std::to_string(tp.partition), std::to_string(*offset)});
  }
  if (options.execute) {
    io::Result<void> done = co_await admin.commit_offsets(group, planned);
    if (!done) co_return failed("cannot commit the offsets of group " + group, done.error());
  }
  const std::string table =
      client::format_table({"GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"}, cells);
  std::printf("%s", table.c_str());
  if (!options.execute) {
    std::fprintf(stderr, "strand: dry run, nothing was committed; add --execute to commit\n");
  }
  co_return kExitOk;
}

}  // namespace

io::Result<client::ResetSpec> reset_spec(const ResetFlags& flags) {
  const int given = int{flags.to_earliest} + int{flags.to_latest} +
                    int{flags.to_offset.has_value()} + int{flags.to_datetime.has_value()} +
                    int{flags.shift_by.has_value()};
  if (given != 1) {
    return io::Error{io::ErrorKind::kInvalid,
                     "reset-offsets needs exactly one of --to-earliest, --to-latest, "
                     "--to-offset, --to-datetime, --shift-by"};
  }
  client::ResetSpec spec;
  if (flags.to_earliest) spec.strategy = client::ResetStrategy::kToEarliest;
  if (flags.to_latest) spec.strategy = client::ResetStrategy::kToLatest;
  if (flags.to_offset) {
    if (*flags.to_offset < 0) {
      return io::Error{io::ErrorKind::kInvalid, "--to-offset must not be negative"};
    }
    spec = {client::ResetStrategy::kToOffset, *flags.to_offset};
  }
  if (flags.shift_by) spec = {client::ResetStrategy::kShiftBy, *flags.shift_by};
  if (flags.to_datetime) {
    io::Result<client::CivilTime> time = client::parse_datetime(*flags.to_datetime);
    if (!time) return io::with_context(std::move(time).error(), "--to-datetime");
    std::int32_t offset_minutes = 0;
    if (time->utc_offset_minutes) {
      offset_minutes = *time->utc_offset_minutes;
    } else {
      // Local time, as Kafka reads a datetime without a zone; mktime knows the DST rules.
      std::tm local{};
      local.tm_year = time->year - 1900;
      local.tm_mon = time->month - 1;
      local.tm_mday = time->day;
      local.tm_hour = time->hour;
      local.tm_min = time->minute;
      local.tm_sec = time->second;
      local.tm_isdst = -1;
      const std::time_t seconds = std::mktime(&local);
      offset_minutes = static_cast<std::int32_t>(
                           (client::epoch_ms(*time, 0) - time->millisecond) / 1000 - seconds) /
                       60;
    }
    spec = {client::ResetStrategy::kToDatetime, client::epoch_ms(*time, offset_minutes)};
  }
  return spec;
}

io::Task<int> groups_command(client::Client& client, const GroupsOptions& options) {
  GroupAdmin admin(client);
  if (options.action == GroupsAction::kList) {
    io::Result<std::vector<client::GroupListing>> groups = co_await admin.list_groups();
    if (!groups) co_return failed("cannot list groups", groups.error());
    for (const client::GroupListing& group : *groups) std::printf("%s\n", group.group_id.c_str());
    co_return kExitOk;
  }
  if (options.action == GroupsAction::kResetOffsets) {
    const int status = co_await reset_offsets(client, admin, options);
    co_return status;
  }
  int status = kExitOk;
  for (std::size_t i = 0; i < options.groups.size(); ++i) {
    const std::string group = options.groups[i];
    if (options.action == GroupsAction::kDelete) {
      io::Result<void> deleted = co_await admin.delete_group(group);
      if (!deleted) {
        status = failed("cannot delete group " + group, deleted.error());
      } else {
        std::printf("Deleted group %s.\n", group.c_str());
      }
      continue;
    }
    if (i > 0) std::printf("\n");
    const int described = co_await describe_one(client, admin, group);
    if (described != kExitOk) status = described;
    std::fflush(stdout);
  }
  co_return status;
}

}  // namespace strand::app
