// What `strand groups reset-offsets` decides, without I/O: its arguments parsed, and each
// partition's new offset as kafka-consumer-groups --reset-offsets computes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/result.h"

namespace strand::client {

// A date and time as written, before a time zone makes it an instant.
struct CivilTime {
  std::int32_t year = 1970;
  std::int32_t month = 1;  // 1-12
  std::int32_t day = 1;    // 1-31, valid for the month
  std::int32_t hour = 0;
  std::int32_t minute = 0;
  std::int32_t second = 0;
  std::int32_t millisecond = 0;
  // East of UTC, from a "Z" or "+hh:mm" suffix; nullopt: none was given (local time, as Kafka).
  std::optional<std::int32_t> utc_offset_minutes;
  friend bool operator==(const CivilTime&, const CivilTime&) = default;
};

// Parses YYYY-MM-DDTHH:mm:SS[.s|.ss|.sss][Z|+hh:mm|-hh:mm|+hhmm|-hhmm] (Kafka's --to-datetime).
// Errors: kInvalid naming what is wrong (format, a field out of range, Feb 30).
io::Result<CivilTime> parse_datetime(std::string_view text);

// Milliseconds since the Unix epoch of `time` read at `utc_offset_minutes` east of UTC (its own
// offset, if it has one, is ignored: the caller chooses).
std::int64_t epoch_ms(const CivilTime& time, std::int32_t utc_offset_minutes);

// TOPIC or TOPIC:P,P,... (topic names never hold ':'). Partitions come back sorted, each once;
// none means every partition. Errors: kInvalid (empty topic, a partition that is not a number
// >= 0).
struct TopicSelection {
  std::string topic;
  std::vector<std::int32_t> partitions;
  friend bool operator==(const TopicSelection&, const TopicSelection&) = default;
};
io::Result<TopicSelection> parse_topic_selection(std::string_view text);

enum class ResetStrategy { kToEarliest, kToLatest, kToOffset, kToDatetime, kShiftBy };

struct ResetSpec {
  ResetStrategy strategy = ResetStrategy::kToEarliest;
  std::int64_t value = 0;  // the offset (kToOffset), the shift (kShiftBy), ms since the epoch
};

// What is known about one partition when planning its reset.
struct PartitionPosition {
  std::int64_t log_start_offset = 0;
  std::int64_t log_end_offset = 0;  // the high watermark
  std::optional<std::int64_t> committed;
  // kToDatetime: the first offset whose timestamp is at or after the time; -1 or nullopt when
  // every record is older.
  std::optional<std::int64_t> offset_for_time;
};

// `offset` moved into [log_start_offset, log_end_offset], as Kafka does before committing.
std::int64_t clamp_offset(std::int64_t offset, const PartitionPosition& position);

// The new offset of a partition: earliest, latest, an offset, the offset for a time (latest when
// no record is that new), or the committed offset shifted; always clamped. Errors: kInvalid for a
// shift of a partition with no committed offset (Kafka refuses it too).
io::Result<std::int64_t> plan_reset(const ResetSpec& spec, const PartitionPosition& position);

}  // namespace strand::client
