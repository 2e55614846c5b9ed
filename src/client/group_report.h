// What `strand groups describe` prints, without I/O: one row per partition a group owns or has
// committed, with its lag, as kafka-consumer-groups --describe shows it, and plain text tables.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "client/group_admin.h"

namespace strand::client {

struct LagRow {
  std::optional<TopicPartition> partition;     // nullopt: a member that owns no partition
  std::optional<std::int64_t> current_offset;  // the committed offset, if any
  std::optional<std::int64_t> log_end_offset;  // nullopt when it could not be read
  // The owning member, or all empty for a committed partition no member owns.
  std::string member_id;
  std::string client_host;
  std::string client_id;

  // LOG-END-OFFSET - CURRENT-OFFSET, when both are known (never below 0).
  std::optional<std::int64_t> lag() const;
  friend bool operator==(const LagRow&, const LagRow&) = default;
};

// Every partition a member of `group` is assigned or the group has committed, sorted by topic and
// partition, then the members that own nothing, in the group's order.
std::vector<LagRow> lag_rows(const GroupDescription& group, const GroupOffsets& committed,
                             const std::map<TopicPartition, std::int64_t>& log_end_offsets);

// The header and rows of describe: GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG
// CONSUMER-ID HOST CLIENT-ID, with "-" for what is unknown or absent.
std::vector<std::string> lag_header();
std::vector<std::string> lag_cells(const std::string& group_id, const LagRow& row);

// Columns left-aligned and padded to their widest cell, separated by two spaces, no trailing
// blanks, one line per row ending in '\n'. REQUIRES: every row as wide as the header.
std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

}  // namespace strand::client
