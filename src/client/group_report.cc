#include "client/group_report.h"

#include <algorithm>
#include <set>

#include "io/assert.h"

namespace strand::client {

namespace {

std::string or_dash(const std::string& text) { return text.empty() ? "-" : text; }

std::string or_dash(const std::optional<std::int64_t>& value) {
  return value ? std::to_string(*value) : "-";
}

}  // namespace

std::optional<std::int64_t> LagRow::lag() const {
  if (!current_offset || !log_end_offset) return std::nullopt;
  return std::max<std::int64_t>(0, *log_end_offset - *current_offset);
}

std::vector<LagRow> lag_rows(const GroupDescription& group, const GroupOffsets& committed,
                             const std::map<TopicPartition, std::int64_t>& log_end_offsets) {
  std::map<TopicPartition, LagRow> by_partition;
  std::vector<LagRow> idle_members;
  for (const GroupMemberDescription& member : group.members) {
    if (member.assignment.empty()) {
      idle_members.push_back(LagRow{std::nullopt, std::nullopt, std::nullopt, member.member_id,
                                    member.client_host, member.client_id});
    }
    for (const TopicPartition& tp : member.assignment) {
      LagRow& row = by_partition[tp];
      row.partition = tp;
      row.member_id = member.member_id;
      row.client_host = member.client_host;
      row.client_id = member.client_id;
    }
  }
  for (const auto& [tp, offset] : committed) {
    LagRow& row = by_partition[tp];
    row.partition = tp;
    row.current_offset = offset;
  }
  std::vector<LagRow> out;
  for (auto& [tp, row] : by_partition) {
    auto end = log_end_offsets.find(tp);
    if (end != log_end_offsets.end()) row.log_end_offset = end->second;
    out.push_back(std::move(row));
  }
  for (LagRow& row : idle_members) out.push_back(std::move(row));
  return out;
}

std::vector<std::string> lag_header() {
  return {"GROUP", "TOPIC",       "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET",
          "LAG",   "CONSUMER-ID", "HOST",      "CLIENT-ID"};
}

std::vector<std::string> lag_cells(const std::string& group_id, const LagRow& row) {
  std::vector<std::string> cells;
  cells.push_back(group_id);
  cells.push_back(row.partition ? row.partition->topic : "-");
  cells.push_back(row.partition ? std::to_string(row.partition->partition) : "-");
  cells.push_back(or_dash(row.current_offset));
  cells.push_back(or_dash(row.log_end_offset));
  cells.push_back(or_dash(row.lag()));
  cells.push_back(or_dash(row.member_id));
  cells.push_back(or_dash(row.client_host));
  cells.push_back(or_dash(row.client_id));
  return cells;
}

std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const std::string& cell : header) widths.push_back(cell.size());
  for (const std::vector<std::string>& row : rows) {
    STRAND_ASSERT(row.size() == header.size(), "every row is as wide as the header");
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  auto append = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      line += cells[i];
      if (i + 1 < cells.size()) line.append(widths[i] - cells[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  };
  append(header);
  for (const std::vector<std::string>& row : rows) append(row);
  return out;
}

}  // namespace strand::client
