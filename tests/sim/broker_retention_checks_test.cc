// retention_correct fails on hand-built histories whose retention broke a rule (a record removed
// while young and with too little log after it, an emptied partition, a partition left far over
// retention.bytes), and passes on the same histories without the break.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "sim/broker_history.h"

namespace strand::sim {
namespace {

io::Instant at_ms(std::int64_t ms) { return io::Instant{} + io::Duration::ms(ms); }

constexpr std::int64_t kWallMs = 100'000;

// An acks=all 100-byte record of producer 0 acknowledged at `offset` of t0-0 five ms after
// `sent_at`, stamped `timestamp_ms`, and found by the read-back if `read_back`.
void add_acked(BrokerHistory& history, std::int64_t offset, io::Instant sent_at,
               std::int64_t timestamp_ms, bool read_back) {
  ProduceAttempt& a = history.producers[0].attempts.emplace_back();
  a.acks = -1;
  a.value_bytes = 100;
  a.outcome = ProduceOutcome::kAcked;
  a.partition = 0;
  a.offset = offset;
  a.sent_at = sent_at;
  a.completed_at = sent_at + io::Duration::ms(5);
  a.timestamp_ms = timestamp_ms;
  if (read_back) {
    history.observations.push_back(Observation{kReadback, 0, PartitionKey{0, 0}, offset,
                                               RecordId{0, static_cast<std::uint64_t>(offset)},
                                               true, at_ms(70'000)});
  }
}

// One producer, acks=all, ten 100-byte records at offsets 0..9 of t0-0, stamped 1 s apart up to
// the brokers' latest wall clock; the read-back finds offsets 5..9.
BrokerHistory base_history() {
  BrokerHistory history;
  history.retention = RetentionLimits{true, 3'000, -1, 1'024, 256};
  history.broker_wall_ms_max = kWallMs;
  history.fault_end = at_ms(45'000);  // records 5..9 were acknowledged after the heal
  history.readback_done = true;
  history.producers.resize(1);
  history.producers[0].acks = -1;
  const PartitionKey tp{0, 0};
  for (std::int64_t offset = 0; offset < 10; ++offset) {
    add_acked(history, offset, at_ms(40'000 + offset * 1'000), kWallMs - 10'000 + offset * 1'000,
              offset >= 5);
  }
  history.readback[tp] = ReadbackPartition{5, 10, std::nullopt, ""};
  return history;
}

TEST(RetentionChecks, PassWhenRemovedRecordsAreOlderThanRetentionMs) {
  const CheckVerdict verdict = check_retention(base_history());
  EXPECT_TRUE(verdict.ok) << verdict.detail;
}

TEST(RetentionChecks, ARecordIsJudgedByTheWallClockWhenItWasSeenRemoved) {
  BrokerHistory history = base_history();
  // Offsets 0..1 were gone at 95 s, 2..4 at 97.5 s: each was over 3 s old by then.
  history.log_start_rises[PartitionKey{0, 0}] = {LogStartRise{2, 95'000}, LogStartRise{5, 97'500}};
  EXPECT_TRUE(check_retention(history).ok) << check_retention(history).detail;
  // Seen gone at 96 s: offset 4, stamped 94 s, was only 2 s old.
  history.log_start_rises[PartitionKey{0, 0}].back().wall_ms_max = 96'000;
  EXPECT_FALSE(check_retention(history).ok);
}

TEST(RetentionChecks, AYoungRecordWithLittleLogAfterItMustNotGo) {
  BrokerHistory history = base_history();
  history.readback.at(PartitionKey{0, 0}).start = 9;  // offsets 7 and 8 are younger than 3 s
  history.observations.erase(history.observations.begin(), history.observations.begin() + 4);
  EXPECT_FALSE(check_retention(history).ok);
  // With a size limit that 100 bytes after the record already meet, removing it was legal.
  history.retention.retention_bytes = 100;
  EXPECT_TRUE(check_retention(history).ok) << check_retention(history).detail;
  history.retention.retention_bytes = 1'000'000;
  EXPECT_FALSE(check_retention(history).ok);
}

TEST(RetentionChecks, AnEmptiedPartitionMeansTheActiveSegmentWent) {
  BrokerHistory history = base_history();
  history.broker_wall_ms_max = kWallMs + 100'000;  // everything old enough by time
  history.readback.at(PartitionKey{0, 0}).start = 10;
  history.observations.clear();
  EXPECT_FALSE(check_retention(history).ok);
  // No record acknowledged after the heal: a crash before it may have emptied the active segment.
  history.fault_end = at_ms(60'000);
  EXPECT_TRUE(check_retention(history).ok) << check_retention(history).detail;
}

TEST(RetentionChecks, APartitionFarOverRetentionBytesFails) {
  BrokerHistory history = base_history();
  history.retention.retention_bytes = 100;  // 500 bytes held, segments of at most ~3.3 KiB
  EXPECT_TRUE(check_retention(history).ok) << check_retention(history).detail;
  history.retention.segment_bytes = 64;
  history.retention.batch_bytes_max = 0;
  history.retention.retention_bytes = 10;
  EXPECT_TRUE(check_retention(history).ok);  // the segment allowance still covers 500 bytes
  // Many more records held than retention.bytes and any segment allow.
  for (std::int64_t offset = 10; offset < 60; ++offset) {
    add_acked(history, offset, at_ms(55'000), kWallMs - 1'000, true);
  }
  history.readback.at(PartitionKey{0, 0}).end = 60;
  EXPECT_FALSE(check_retention(history).ok);
}

TEST(RetentionChecks, DurabilityExemptsOnlyRecordsBelowTheLogStart) {
  BrokerHistory history = base_history();
  const auto durable = [&] {
    const std::vector<CheckVerdict> verdicts = check_history(history, CheckLimits{});
    return std::find_if(
               verdicts.begin(), verdicts.end(),
               [](const CheckVerdict& v) { return v.name == "no_lost_acknowledged_write"; })
        ->ok;
  };
  EXPECT_TRUE(durable());
  history.observations.pop_back();  // offset 9, above the log start, is lost
  EXPECT_FALSE(durable());
  history = base_history();
  history.retention.set = false;  // without a retention limit nothing is exempt
  EXPECT_FALSE(durable());
}

}  // namespace
}  // namespace strand::sim
