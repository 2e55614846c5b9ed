// The producer state of a partition: which batch of an idempotent producer is appended, answered
// as a duplicate, or refused.
#include "broker/cluster/producer_state.h"

#include <gtest/gtest.h>

#include <limits>

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

}  // namespace
}  // namespace strand::cluster
