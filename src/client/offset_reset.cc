#include "client/offset_reset.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "io/assert.h"

namespace strand::client {

namespace {

io::Error invalid(std::string message) {
  return io::Error{io::ErrorKind::kInvalid, std::move(message)};
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Exactly `width` digits at `at`, advancing it; nullopt if they are not there.
std::optional<std::int32_t> digits(std::string_view text, std::size_t& at, std::size_t width) {
  if (at + width > text.size()) return std::nullopt;
  std::int32_t value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    const char c = text[at + i];
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  at += width;
  return value;
}

bool literal(std::string_view text, std::size_t& at, char c) {
  if (at >= text.size() || text[at] != c) return false;
  at += 1;
  return true;
}

bool leap_year(std::int32_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

std::int32_t days_in_month(std::int32_t year, std::int32_t month) {
  constexpr std::int32_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  STRAND_ASSERT(month >= 1 && month <= 12, "a month was checked before");
  if (month == 2 && leap_year(year)) return 29;
  return kDays[month - 1];
}

// Days from 1970-01-01 to the date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t year, std::int64_t month, std::int64_t day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const std::int64_t year_of_era = year - era * 400;
  const std::int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const std::int64_t day_of_era =
      year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

// The zone suffix from `at` to the end: "", "Z", "+hh:mm", "+hhmm" (or '-').
io::Result<std::optional<std::int32_t>> parse_zone(std::string_view text, std::size_t at) {
  const std::string_view rest = text.substr(at);
  if (rest.empty()) return std::optional<std::int32_t>{};
  if (rest == "Z") return std::optional<std::int32_t>{0};
  if (rest[0] != '+' && rest[0] != '-') {
    return invalid("unexpected '" + std::string(rest) + "' after the time");
  }
  const std::int32_t sign = rest[0] == '+' ? 1 : -1;
  at += 1;
  const std::optional<std::int32_t> hours = digits(text, at, 2);
  literal(text, at, ':');
  const std::optional<std::int32_t> minutes = digits(text, at, 2);
  if (!hours || !minutes || at != text.size()) {
    return invalid("the time zone '" + std::string(rest) + "' is not Z, +hh:mm or -hh:mm");
  }
  if (*hours > 18 || *minutes > 59) {
    return invalid("the time zone '" + std::string(rest) + "' is out of range");
  }
  return std::optional<std::int32_t>{sign * (*hours * 60 + *minutes)};
}

}  // namespace

io::Result<CivilTime> parse_datetime(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  CivilTime out;
  std::size_t at = 0;
  const std::optional<std::int32_t> year = digits(text, at, 4);
  const bool dash1 = literal(text, at, '-');
  const std::optional<std::int32_t> month = digits(text, at, 2);
  const bool dash2 = literal(text, at, '-');
  const std::optional<std::int32_t> day = digits(text, at, 2);
  const bool t = literal(text, at, 'T');
  const std::optional<std::int32_t> hour = digits(text, at, 2);
  const bool colon1 = literal(text, at, ':');
  const std::optional<std::int32_t> minute = digits(text, at, 2);
  const bool colon2 = literal(text, at, ':');
  const std::optional<std::int32_t> second = digits(text, at, 2);
  if (!year || !month || !day || !hour || !minute || !second || !dash1 || !dash2 || !t || !colon1 ||
      !colon2) {
    return invalid(quoted + " is not YYYY-MM-DDTHH:mm:SS[.sss][Z|+hh:mm]");
  }
  out.year = *year;
  out.month = *month;
  out.day = *day;
  out.hour = *hour;
  out.minute = *minute;
  out.second = *second;
  if (literal(text, at, '.')) {
    std::size_t width = 0;
    while (at + width < text.size() && is_digit(text[at + width]) && width < 4) width += 1;
    if (width == 0 || width > 3) return invalid(quoted + ": 1 to 3 digits of milliseconds");
    std::optional<std::int32_t> fraction = digits(text, at, width);
    STRAND_ASSERT(fraction.has_value(), "the digits were counted");
    out.millisecond = *fraction * (width == 1 ? 100 : width == 2 ? 10 : 1);
  }
  if (out.month < 1 || out.month > 12)
    return invalid(quoted + ": no month " + std::to_string(out.month));
  if (out.day < 1 || out.day > days_in_month(out.year, out.month)) {
    return invalid(quoted + ": no day " + std::to_string(out.day) + " in that month");
  }
  if (out.hour > 23 || out.minute > 59 || out.second > 59) {
    return invalid(quoted + ": the time of day is out of range");
  }
  io::Result<std::optional<std::int32_t>> zone = parse_zone(text, at);
  if (!zone) return io::with_context(std::move(zone).error(), quoted);
  out.utc_offset_minutes = *zone;
  return out;
}

std::int64_t epoch_ms(const CivilTime& time, std::int32_t utc_offset_minutes) {
  const std::int64_t days = days_from_civil(time.year, time.month, time.day);
  const std::int64_t seconds = days * 86'400 + time.hour * 3'600 + time.minute * 60 + time.second -
                               static_cast<std::int64_t>(utc_offset_minutes) * 60;
  return seconds * 1'000 + time.millisecond;
}

io::Result<TopicSelection> parse_topic_selection(std::string_view text) {
  TopicSelection out;
  const std::size_t colon = text.find(':');
  out.topic = std::string(text.substr(0, colon));
  if (out.topic.empty()) return invalid("--topic '" + std::string(text) + "' names no topic");
  if (colon == std::string_view::npos) return out;
  std::string_view rest = text.substr(colon + 1);
  for (;;) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    std::int32_t partition = -1;
    const auto [end, status] = std::from_chars(item.data(), item.data() + item.size(), partition);
    if (item.empty() || status != std::errc() || end != item.data() + item.size() ||
        partition < 0) {
      return invalid("--topic '" + std::string(text) + "': '" + std::string(item) +
                     "' is not a partition number");
    }
    out.partitions.push_back(partition);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  std::sort(out.partitions.begin(), out.partitions.end());
  out.partitions.erase(std::unique(out.partitions.begin(), out.partitions.end()),
                       out.partitions.end());
  return out;
}

std::int64_t clamp_offset(std::int64_t offset, const PartitionPosition& position) {
  STRAND_ASSERT(position.log_start_offset <= position.log_end_offset,
                "the log starts at or before its end");
  return std::clamp(offset, position.log_start_offset, position.log_end_offset);
}

io::Result<std::int64_t> plan_reset(const ResetSpec& spec, const PartitionPosition& position) {
  switch (spec.strategy) {
    case ResetStrategy::kToEarliest:
      return position.log_start_offset;
    case ResetStrategy::kToLatest:
      return position.log_end_offset;
    case ResetStrategy::kToOffset:
      return clamp_offset(spec.value, position);
    case ResetStrategy::kToDatetime: {
      const std::int64_t found = position.offset_for_time.value_or(-1);
      return clamp_offset(found < 0 ? position.log_end_offset : found, position);
    }
    case ResetStrategy::kShiftBy: {
      if (!position.committed) return invalid("no committed offset to shift");
      std::int64_t shifted = 0;
      if (__builtin_add_overflow(*position.committed, spec.value, &shifted)) {
        shifted = spec.value < 0 ? std::numeric_limits<std::int64_t>::min()
                                 : std::numeric_limits<std::int64_t>::max();
      }
      return clamp_offset(shifted, position);
    }
  }
  STRAND_ASSERT(false, "every strategy is handled");
  return position.log_start_offset;
}

}  // namespace strand::client
