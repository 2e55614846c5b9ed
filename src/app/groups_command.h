// `strand groups list|describe|delete|reset-offsets`: consumer-group administration as
// kafka-consumer-groups does it, through client::GroupAdmin.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/offset_reset.h"
#include "io/result.h"
#include "io/task.h"

namespace strand::app {

enum class GroupsAction { kList, kDescribe, kDelete, kResetOffsets };

struct GroupsOptions {
  GroupsAction action = GroupsAction::kList;
  std::vector<std::string> groups;             // describe, delete: one or more; reset: one
  std::vector<client::TopicSelection> topics;  // reset-offsets --topic
  bool all_topics = false;                     // reset-offsets --all-topics: the committed ones
  client::ResetSpec reset;
  bool execute = false;  // reset-offsets: commit; else print the plan only
};

// The raw reset-offsets flags as given on the command line.
struct ResetFlags {
  bool to_earliest = false;
  bool to_latest = false;
  std::optional<std::int64_t> to_offset;
  std::optional<std::string> to_datetime;
  std::optional<std::int64_t> shift_by;
};

// Exactly one strategy, as a ResetSpec; a datetime without a zone is local time. Errors:
// kInvalid naming the problem (none or several strategies, a bad datetime, a negative offset).
io::Result<client::ResetSpec> reset_spec(const ResetFlags& flags);

// Runs the action, printing results on stdout and errors on stderr; returns the exit code (0, or
// 1 when a request failed or was refused).
io::Task<int> groups_command(client::Client& client, const GroupsOptions& options);

}  // namespace strand::app
