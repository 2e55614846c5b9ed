// reset-offsets' pure decisions: datetimes as Kafka's --to-datetime takes them, topic selections,
// and each strategy's new offset, clamped to the log as Kafka clamps it.
#include "client/offset_reset.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace strand::client {
namespace {

TEST(ParseDatetime, ReadsEveryFieldAndTheZoneVariants) {
  io::Result<CivilTime> plain = parse_datetime("2026-11-24T10:00:05");
  ASSERT_TRUE(plain.ok()) << plain.error().to_string();
  EXPECT_EQ(*plain, (CivilTime{2026, 11, 24, 10, 0, 5, 0, std::nullopt}));

  io::Result<CivilTime> utc = parse_datetime("2026-11-24T10:00:00.123Z");
  ASSERT_TRUE(utc.ok());
  EXPECT_EQ(utc->millisecond, 123);
  EXPECT_EQ(utc->utc_offset_minutes, 0);

  io::Result<CivilTime> east = parse_datetime("2026-11-24T10:00:00+05:30");
  ASSERT_TRUE(east.ok());
  EXPECT_EQ(east->utc_offset_minutes, 330);
  io::Result<CivilTime> west = parse_datetime("2026-11-24T10:00:00.5-0800");
  ASSERT_TRUE(west.ok());
  EXPECT_EQ(west->utc_offset_minutes, -480);
  EXPECT_EQ(west->millisecond, 500);  // .5 is half a second, not 5 ms
  io::Result<CivilTime> tenths = parse_datetime("2026-11-24T10:00:00.05Z");
  ASSERT_TRUE(tenths.ok());
  EXPECT_EQ(tenths->millisecond, 50);
}

TEST(ParseDatetime, RefusesMalformedAndImpossibleTimesWithTheReason) {
  for (const char* bad :
       {"", "2026-11-24", "2026-11-24 10:00:00", "2026-11-24T10:00", "26-11-24T10:00:00",
        "2026-11-24T10:00:00.", "2026-11-24T10:00:00.1234", "2026-11-24T10:00:00X",
        "2026-11-24T10:00:00+5", "2026-11-24T10:00:00+05:3", "2026-11-24T10:00:00Zjunk",
        "2026-13-01T00:00:00", "2026-00-10T00:00:00", "2026-02-29T00:00:00", "2026-04-31T00:00:00",
        "2026-11-24T24:00:00", "2026-11-24T10:60:00", "2026-11-24T10:00:60",
        "2026-11-24T10:00:00+19:00"}) {
    io::Result<CivilTime> parsed = parse_datetime(bad);
    ASSERT_FALSE(parsed.ok()) << "accepted '" << bad << "'";
    EXPECT_EQ(parsed.error().kind, io::ErrorKind::kInvalid) << bad;
    EXPECT_NE(parsed.error().message.find(std::string("'") + bad + "'"), std::string::npos)
        << "the message names the input: " << parsed.error().message;
  }
  EXPECT_TRUE(parse_datetime("2024-02-29T00:00:00").ok()) << "a leap day";
  EXPECT_FALSE(parse_datetime("2100-02-29T00:00:00").ok()) << "centuries are not leap years";
  EXPECT_TRUE(parse_datetime("2000-02-29T23:59:59.999Z").ok()) << "but every 400 years is";
}

TEST(EpochMs, MatchesKnownInstantsAndAppliesTheOffset) {
  EXPECT_EQ(epoch_ms(CivilTime{1970, 1, 1, 0, 0, 0, 0, {}}, 0), 0);
  // date -u -d 2026-11-24T10:00:00Z +%s = 1795514400
  EXPECT_EQ(epoch_ms(CivilTime{2026, 11, 24, 10, 0, 0, 250, {}}, 0), 1'795'514'400'250);
  EXPECT_EQ(epoch_ms(CivilTime{2026, 11, 24, 10, 0, 0, 0, {}}, 60), 1'795'514'400'000 - 3'600'000);
  EXPECT_EQ(epoch_ms(CivilTime{2026, 11, 24, 10, 0, 0, 0, {}}, -330),
            1'795'514'400'000 + 330 * 60'000);
  EXPECT_EQ(epoch_ms(CivilTime{2000, 3, 1, 0, 0, 0, 0, {}}, 0), 951'868'800'000);
  EXPECT_EQ(epoch_ms(CivilTime{1969, 12, 31, 23, 59, 59, 0, {}}, 0), -1'000);
}

TEST(ParseTopicSelection, TakesATopicOrTopicWithSortedDistinctPartitions) {
  io::Result<TopicSelection> whole = parse_topic_selection("orders.v2");
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(*whole, (TopicSelection{"orders.v2", {}}));
  io::Result<TopicSelection> some = parse_topic_selection("orders:3,0,3,1");
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(*some, (TopicSelection{"orders", {0, 1, 3}}));
  for (const char* bad :
       {"", ":1", "t:", "t:1,", "t:a", "t:-1", "t:1,,2", "t:1x", "t:99999999999"}) {
    io::Result<TopicSelection> parsed = parse_topic_selection(bad);
    EXPECT_FALSE(parsed.ok()) << "accepted '" << bad << "'";
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.error().kind, io::ErrorKind::kInvalid);
    }
  }
}

PartitionPosition position(std::int64_t start, std::int64_t end,
                           std::optional<std::int64_t> committed = std::nullopt,
                           std::optional<std::int64_t> for_time = std::nullopt) {
  return PartitionPosition{start, end, committed, for_time};
}

std::int64_t planned(ResetStrategy strategy, std::int64_t value, const PartitionPosition& at) {
  io::Result<std::int64_t> offset = plan_reset(ResetSpec{strategy, value}, at);
  EXPECT_TRUE(offset.ok()) << offset.error().to_string();
  return offset.ok() ? *offset : -999;
}

TEST(PlanReset, EarliestAndLatestAreTheLogBounds) {
  EXPECT_EQ(planned(ResetStrategy::kToEarliest, 0, position(5, 20, 12)), 5);
  EXPECT_EQ(planned(ResetStrategy::kToLatest, 0, position(5, 20, 12)), 20);
  EXPECT_EQ(planned(ResetStrategy::kToEarliest, 0, position(0, 0)), 0) << "an empty log";
}

TEST(PlanReset, AnOffsetIsClampedIntoTheLog) {
  EXPECT_EQ(planned(ResetStrategy::kToOffset, 7, position(5, 20)), 7);
  EXPECT_EQ(planned(ResetStrategy::kToOffset, 2, position(5, 20)), 5);
  EXPECT_EQ(planned(ResetStrategy::kToOffset, 21, position(5, 20)), 20);
  EXPECT_EQ(planned(ResetStrategy::kToOffset, 20, position(5, 20)), 20) << "the end is allowed";
}

TEST(PlanReset, ShiftMovesTheCommittedOffsetAndIsClampedWithoutOverflow) {
  EXPECT_EQ(planned(ResetStrategy::kShiftBy, -3, position(0, 10, 10)), 7);
  EXPECT_EQ(planned(ResetStrategy::kShiftBy, 4, position(0, 10, 3)), 7);
  EXPECT_EQ(planned(ResetStrategy::kShiftBy, -30, position(2, 10, 10)), 2);
  EXPECT_EQ(planned(ResetStrategy::kShiftBy, 30, position(2, 10, 10)), 10);
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(planned(ResetStrategy::kShiftBy, kMax, position(2, 10, 9)), 10);
  EXPECT_EQ(planned(ResetStrategy::kShiftBy, kMin, position(2, 10, 9)), 2);
  io::Result<std::int64_t> nothing = plan_reset({ResetStrategy::kShiftBy, -3}, position(0, 10));
  ASSERT_FALSE(nothing.ok()) << "no committed offset to shift";
  EXPECT_EQ(nothing.error().kind, io::ErrorKind::kInvalid);
}

TEST(PlanReset, DatetimeTakesTheOffsetForTheTimeOrTheEndWhenNothingIsThatNew) {
  EXPECT_EQ(planned(ResetStrategy::kToDatetime, 1000, position(0, 10, 2, 4)), 4);
  EXPECT_EQ(planned(ResetStrategy::kToDatetime, 1000, position(0, 10, 2, -1)), 10);
  EXPECT_EQ(planned(ResetStrategy::kToDatetime, 1000, position(0, 10, 2)), 10);
  EXPECT_EQ(planned(ResetStrategy::kToDatetime, 1000, position(6, 10, 2, 3)), 6) << "clamped";
}

TEST(ClampOffset, KeepsOffsetsInsideAndMovesOthersToTheNearestBound) {
  for (std::int64_t offset = -3; offset <= 13; ++offset) {
    const std::int64_t clamped = clamp_offset(offset, position(2, 10));
    EXPECT_GE(clamped, 2);
    EXPECT_LE(clamped, 10);
    if (offset >= 2 && offset <= 10) {
      EXPECT_EQ(clamped, offset);
    }
  }
}

}  // namespace
}  // namespace strand::client
