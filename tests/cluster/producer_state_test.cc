// The producer state of a partition: which batch of an idempotent producer is appended, answered
// as a duplicate, or refused.
#include "broker/cluster/producer_state.h"

#include <gtest/gtest.h>

#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace strand::cluster {
namespace {

ProducerBatch batch(std::int64_t id, std::int16_t epoch, std::int32_t first, std::int32_t count) {
  ProducerBatch out;
  out.id = id;
  out.epoch = epoch;
  out.first_sequence = first;
  out.last_sequence =
      static_cast<std::int32_t>((std::int64_t{first} + count - 1) %
                                (std::int64_t{std::numeric_limits<std::int32_t>::max()} + 1));
  return out;
}

// Begins and writes `b` at `base`, as a partition does for an accepted batch.
void write(ProducerStateTable& table, const ProducerBatch& b, std::int64_t base) {
  table.begin(b);
  table.written(b.id, b.first_sequence, base, base + (b.last_sequence - b.first_sequence), 3);
}

TEST(ProducerState, UnknownProducersAndTheNextBatchAreAppended) {
  ProducerStateTable table;
  EXPECT_EQ(table.check(batch(7, 0, 42, 3)).verdict, SequenceVerdict::kAppend)
      << "a producer whose batches left the log is accepted where it is";
  write(table, batch(7, 0, 0, 3), 100);
  EXPECT_EQ(table.check(batch(7, 0, 3, 2)).verdict, SequenceVerdict::kAppend);
  EXPECT_EQ(table.check(batch(7, 0, 4, 2)).verdict, SequenceVerdict::kOutOfOrder);
  EXPECT_EQ(table.check(batch(7, 0, 9, 1)).verdict, SequenceVerdict::kOutOfOrder);
  EXPECT_EQ(table.check(batch(8, 0, 5, 1)).verdict, SequenceVerdict::kAppend) << "another producer";
}

TEST(ProducerState, RetriedBatchesAreDuplicatesWithTheirOffsets) {
  ProducerStateTable table;
  for (int i = 0; i < 7; ++i) write(table, batch(7, 0, 2 * i, 2), 10 * i);
  // The last five batches are remembered (max.in.flight.requests.per.connection).
  for (int i = 2; i < 7; ++i) {
    const SequenceCheck check = table.check(batch(7, 0, 2 * i, 2));
    ASSERT_EQ(check.verdict, SequenceVerdict::kDuplicate) << i;
    EXPECT_EQ(check.written.base_offset, 10 * i);
    EXPECT_EQ(check.written.last_offset, 10 * i + 1);
    EXPECT_EQ(check.written.leader_epoch, 3);
  }
  EXPECT_EQ(table.check(batch(7, 0, 2, 2)).verdict, SequenceVerdict::kOutOfOrder)
      << "too old to remember";
  EXPECT_EQ(table.check(batch(7, 0, 12, 1)).verdict, SequenceVerdict::kOutOfOrder)
      << "the same start, another length: not the same batch";
}

TEST(ProducerState, BatchesBeingWrittenAreInFlightUntilWrittenOrAbandoned) {
  ProducerStateTable table;
  write(table, batch(7, 0, 0, 1), 0);
  table.begin(batch(7, 0, 1, 1));
  EXPECT_EQ(table.check(batch(7, 0, 1, 1)).verdict, SequenceVerdict::kInFlight);
  EXPECT_EQ(table.check(batch(7, 0, 2, 1)).verdict, SequenceVerdict::kAppend) << "pipelined";
  table.abandon(7, 1);
  EXPECT_EQ(table.check(batch(7, 0, 1, 1)).verdict, SequenceVerdict::kAppend) << "sent again";
  table.begin(batch(7, 0, 1, 1));
  table.written(7, 1, 5, 5, 3);
  EXPECT_EQ(table.check(batch(7, 0, 1, 1)).verdict, SequenceVerdict::kDuplicate);
}

TEST(ProducerState, EpochsFenceOlderOnesAndStartSequencesAgain) {
  ProducerStateTable table;
  write(table, batch(7, 0, 0, 5), 0);
  EXPECT_EQ(table.check(batch(7, 1, 5, 1)).verdict, SequenceVerdict::kOutOfOrder)
      << "a new epoch starts at 0";
  EXPECT_EQ(table.check(batch(7, 1, 0, 1)).verdict, SequenceVerdict::kAppend);
  write(table, batch(7, 1, 0, 1), 5);
  EXPECT_EQ(table.check(batch(7, 0, 5, 1)).verdict, SequenceVerdict::kFencedEpoch);
  EXPECT_EQ(table.check(batch(7, 1, 1, 1)).verdict, SequenceVerdict::kAppend);
}

TEST(ProducerState, SequencesWrapAfterTheLargestInt32) {
  ProducerStateTable table;
  const std::int32_t top = std::numeric_limits<std::int32_t>::max();
  write(table, batch(7, 0, top - 1, 2), 0);
  EXPECT_EQ(table.check(batch(7, 0, 0, 3)).verdict, SequenceVerdict::kAppend);
  EXPECT_EQ(table.check(batch(7, 0, 1, 3)).verdict, SequenceVerdict::kOutOfOrder);
}

TEST(ProducerState, BatchHeadersWithoutASequenceAreNotIdempotent) {
  std::vector<std::byte> header(61, std::byte{0});
  // producerId 9 at 43, epoch 0 at 51, baseSequence -1 at 53.
  header[50] = std::byte{9};
  for (int i = 53; i < 57; ++i) header[i] = std::byte{0xff};
  EXPECT_LT(ProducerBatch::of(header).id, 0);
  for (int i = 53; i < 57; ++i) header[i] = std::byte{0};
  header[26] = std::byte{4};  // lastOffsetDelta 4
  const ProducerBatch idempotent = ProducerBatch::of(header);
  EXPECT_EQ(idempotent.id, 9);
  EXPECT_EQ(idempotent.first_sequence, 0);
  EXPECT_EQ(idempotent.last_sequence, 4);
}

// What a table answers about the batches a producer may send next: its last batches again (their
// offsets), the next one, one after a gap, an older and a newer epoch.
std::vector<std::string> answers(const ProducerStateTable& table,
                                 const std::vector<ProducerBatch>& probes) {
  std::vector<std::string> out;
  for (const ProducerBatch& probe : probes) {
    const SequenceCheck check = table.check(probe);
    out.push_back(std::to_string(static_cast<int>(check.verdict)) + "@" +
                  std::to_string(check.written.base_offset) + "-" +
                  std::to_string(check.written.last_offset) + "/" +
                  std::to_string(check.written.leader_epoch));
  }
  return out;
}

std::vector<ProducerBatch> probes_for(std::int64_t producers, std::int32_t sequences) {
  std::vector<ProducerBatch> probes;
  for (std::int64_t id = 1; id <= producers; ++id) {
    for (std::int16_t epoch = 0; epoch < 3; ++epoch) {
      for (std::int32_t first = 0; first < sequences; ++first) {
        probes.push_back(batch(id, epoch, first, 1));
        probes.push_back(batch(id, epoch, first, 2));
      }
    }
  }
  return probes;
}

// A log of batches from three producers, one of which bumps its epoch half way.
struct LoggedBatch {
  ProducerBatch producer;
  std::int64_t base;
  std::int32_t leader_epoch;
};

std::vector<LoggedBatch> sample_log() {
  std::vector<LoggedBatch> log;
  std::int64_t offset = 0;
  std::int32_t next[4] = {0, 0, 0, 0};
  std::int16_t epoch3 = 0;
  for (int i = 0; i < 40; ++i) {
    const std::int64_t id = 1 + (i * 7 % 3);
    if (id == 3 && i == 20) {
      epoch3 = 1;  // KIP-360: a bumped epoch starts at sequence 0
      next[3] = 0;
    }
    const std::int32_t count = 1 + i % 3;
    const std::int16_t epoch = id == 3 ? epoch3 : std::int16_t{0};
    log.push_back({batch(id, epoch, next[id], count), offset, 1 + i / 10});
    next[id] += count;
    offset += count + (i % 5 == 0 ? 1 : 0);  // now and then a Raft entry in between
  }
  return log;
}

TEST(ProducerState, ASnapshotThenTheRestAnswersLikeTheWholeLog) {
  const std::vector<LoggedBatch> log = sample_log();
  const std::vector<ProducerBatch> probes = probes_for(3, 40);
  ProducerStateTable whole;
  for (const LoggedBatch& b : log) {
    const std::int32_t delta = b.producer.last_sequence - b.producer.first_sequence;
    whole.replay(b.producer, b.base, b.base + delta, b.leader_epoch);
  }
  const std::vector<std::string> expected = answers(whole, probes);
  for (std::size_t split = 0; split <= log.size(); ++split) {
    ProducerStateTable before;
    for (std::size_t i = 0; i < split; ++i) {
      const LoggedBatch& b = log[i];
      before.replay(b.producer, b.base,
                    b.base + (b.producer.last_sequence - b.producer.first_sequence),
                    b.leader_epoch);
    }
    const std::int64_t end = split < log.size() ? log[split].base : log.back().base + 10;
    std::optional<ProducerStateTable::Decoded> decoded =
        ProducerStateTable::decode(before.encode(end));
    ASSERT_TRUE(decoded.has_value()) << "split " << split;
    EXPECT_EQ(decoded->end, end);
    ProducerStateTable rebuilt = std::move(decoded->table);
    for (std::size_t i = split; i < log.size(); ++i) {
      const LoggedBatch& b = log[i];
      rebuilt.replay(b.producer, b.base,
                     b.base + (b.producer.last_sequence - b.producer.first_sequence),
                     b.leader_epoch);
    }
    EXPECT_EQ(answers(rebuilt, probes), expected) << "split " << split;
  }
}

TEST(ProducerState, EncodingDoesNotDependOnInsertionOrder) {
  ProducerStateTable forward;
  ProducerStateTable backward;
  for (std::int64_t id = 1; id <= 50; ++id) write(forward, batch(id, 0, 0, 2), id * 10);
  for (std::int64_t id = 50; id >= 1; --id) write(backward, batch(id, 0, 0, 2), id * 10);
  EXPECT_EQ(forward.encode(1000), backward.encode(1000));
}

TEST(ProducerState, DamagedSnapshotsAreRefused) {
  ProducerStateTable table;
  for (std::int64_t id = 1; id <= 4; ++id) {
    for (std::int32_t i = 0; i < 3; ++i) write(table, batch(id, 1, 2 * i, 2), id * 100 + 10 * i);
  }
  const std::vector<std::byte> good = table.encode(1000);
  ASSERT_TRUE(ProducerStateTable::decode(good).has_value());
  for (std::size_t at = 0; at < good.size(); ++at) {
    std::vector<std::byte> flipped = good;
    flipped[at] ^= std::byte{0x10};
    EXPECT_FALSE(ProducerStateTable::decode(flipped).has_value()) << "byte " << at;
  }
  for (std::size_t size = 0; size < good.size(); ++size) {
    EXPECT_FALSE(ProducerStateTable::decode(std::span(good).first(size)).has_value())
        << size << " bytes";
  }
  const std::vector<std::byte> ends_too_early = table.encode(400);  // producer 4 wrote at 400
  EXPECT_FALSE(ProducerStateTable::decode(ends_too_early).has_value())
      << "a batch at or beyond the snapshot's end";
}

// producer.id.expiration.ms: a producer whose last batch's max timestamp is that old is
// forgotten, unless a batch of it is being written; its next batch is a new producer's (accepted
// with any sequence). The timestamps survive a snapshot.
TEST(ProducerState, SilentProducersExpireByTheirBatchTimestamps) {
  constexpr std::int64_t kExpiration = 60'000;
  ProducerStateTable table;
  ProducerBatch old_one = batch(1, 0, 0, 2);
  old_one.max_timestamp = 1'000;
  write(table, old_one, 10);
  ProducerBatch recent = batch(2, 0, 0, 2);
  recent.max_timestamp = 50'000;
  write(table, recent, 12);
  ProducerBatch untimed = batch(4, 0, 0, 1);  // no timestamp (-1): kept
  write(table, untimed, 14);
  const std::vector<std::byte> snapshot = table.encode(100);  // written batches only
  ProducerBatch writing = batch(3, 0, 0, 1);
  writing.max_timestamp = 1'000;
  table.begin(writing);  // not written yet
  EXPECT_EQ(table.expire(60'999, kExpiration), 0u) << "one millisecond short";
  EXPECT_EQ(table.expire(61'000, kExpiration), 1u);
  EXPECT_EQ(table.size(), 3u);
  EXPECT_EQ(table.check(batch(1, 0, 7, 1)).verdict, SequenceVerdict::kAppend)
      << "forgotten: any sequence is a new producer's";
  EXPECT_EQ(table.check(batch(2, 0, 5, 1)).verdict, SequenceVerdict::kOutOfOrder) << "remembered";
  EXPECT_EQ(table.check(writing).verdict, SequenceVerdict::kInFlight);
  std::optional<ProducerStateTable::Decoded> decoded = ProducerStateTable::decode(snapshot);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->table.expire(109'999, kExpiration), 1u) << "producer 1 only";
  EXPECT_EQ(decoded->table.expire(110'000, kExpiration), 1u) << "then producer 2";
  EXPECT_EQ(decoded->table.size(), 1u) << "producer 4, whose batches carry no timestamp";
}

}  // namespace
}  // namespace strand::cluster
