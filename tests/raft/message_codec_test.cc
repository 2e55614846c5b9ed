// Raft messages on the wire: every kind survives a round trip (entries as their verbatim
// batches), and no garbage payload crashes the decoder: it decodes to an error or to messages.
#include "broker/raft/message_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "broker/protocol/batch_builder.h"
#include "broker/raft/control_batch.h"
#include "io/random.h"

namespace strand::raft {
namespace {

std::vector<std::byte> data_batch(Offset base, Term term, int records) {
  std::vector<protocol::Record> rs;
  for (int i = 0; i < records; ++i) {
    rs.push_back(protocol::Record{"k" + std::to_string(i), "v" + std::to_string(base), {}, 1000});
  }
  std::vector<std::byte> batch = protocol::build_batch(rs);
  protocol::set_base_offset(batch, base);
  protocol::set_partition_leader_epoch(batch, term);
  return batch;
}

Entry entry_of(std::vector<std::byte> batch) {
  io::Result<Entry> entry = entry_from_batch(batch);
  EXPECT_TRUE(entry.ok());
  return std::move(entry).value();
}

std::vector<GroupMessage> every_kind() {
  AppendRequest append{4, 2, 3, 0, Configuration{{1, 2, 3}, {4}}, {}};
  append.entries.push_back(entry_of(data_batch(5, 2, 3)));
  Entry leader_change{{8, 8, 3, EntryKind::kLeaderChange}, {}, {}};
  append.entries.push_back(entry_of(build_control_batch(leader_change, 77)));
  Entry config{{9, 9, 3, EntryKind::kConfiguration}, Configuration{{1, 2}, {3}}, {}};
  append.entries.push_back(entry_of(build_control_batch(config, 78)));
  return {
      {1, Message{1, 2, 3, VoteRequest{true, false, 10, 2}}},
      {2, Message{2, 1, 3, VoteResponse{true, true}}},
      {3, Message{1, 2, 3, append}},
      {3, Message{1, 2, 3, AppendRequest{-1, 0, -1, 0, {}, {}}}},
      {4, Message{2, 1, 3, AppendResponse{false, 7, 6, 5, 1}}},
      {5, Message{1, 3, 4, HeartbeatRequest{9, 8}}},
      {6, Message{3, 1, 4, HeartbeatResponse{12}}},
      {1ull << 40, Message{1, 3, 5, TimeoutNow{}}},
  };
}

void expect_same(const Message& a, const Message& b) {
  EXPECT_EQ(a.from, b.from);
  EXPECT_EQ(a.to, b.to);
  EXPECT_EQ(a.term, b.term);
  ASSERT_EQ(a.body.index(), b.body.index());
  if (const auto* x1 = std::get_if<VoteRequest>(&a.body)) {
    const auto& y1 = std::get<VoteRequest>(b.body);
    EXPECT_EQ(std::tie(x1->pre_vote, x1->transfer, x1->last_offset, x1->last_term),
              std::tie(y1.pre_vote, y1.transfer, y1.last_offset, y1.last_term));
  } else if (const auto* x2 = std::get_if<VoteResponse>(&a.body)) {
    const auto& y2 = std::get<VoteResponse>(b.body);
    EXPECT_EQ(std::tie(x2->pre_vote, x2->granted), std::tie(y2.pre_vote, y2.granted));
  } else if (const auto* x3 = std::get_if<AppendRequest>(&a.body)) {
    const auto& y3 = std::get<AppendRequest>(b.body);
    EXPECT_EQ(std::tie(x3->prev_offset, x3->prev_term, x3->leader_commit, x3->log_start_offset,
                       x3->log_start_configuration),
              std::tie(y3.prev_offset, y3.prev_term, y3.leader_commit, y3.log_start_offset,
                       y3.log_start_configuration));
    ASSERT_EQ(x3->entries.size(), y3.entries.size());
    for (std::size_t i = 0; i < x3->entries.size(); ++i) {
      EXPECT_EQ(x3->entries[i].meta, y3.entries[i].meta);
      EXPECT_EQ(x3->entries[i].configuration, y3.entries[i].configuration);
      EXPECT_EQ(x3->entries[i].payload, y3.entries[i].payload);
    }
  } else if (const auto* x4 = std::get_if<AppendResponse>(&a.body)) {
    const auto& y4 = std::get<AppendResponse>(b.body);
    EXPECT_EQ(std::tie(x4->success, x4->last_offset, x4->rejected_prev_offset, x4->hint_offset,
                       x4->hint_term),
              std::tie(y4.success, y4.last_offset, y4.rejected_prev_offset, y4.hint_offset,
                       y4.hint_term));
  } else if (const auto* x5 = std::get_if<HeartbeatRequest>(&a.body)) {
    const auto& y5 = std::get<HeartbeatRequest>(b.body);
    EXPECT_EQ(std::tie(x5->commit_offset, x5->match_offset),
              std::tie(y5.commit_offset, y5.match_offset));
  } else if (const auto* x6 = std::get_if<HeartbeatResponse>(&a.body)) {
    EXPECT_EQ(x6->last_offset, std::get<HeartbeatResponse>(b.body).last_offset);
  }
}

TEST(RaftMessageCodec, EveryKindRoundTrips) {
  const std::vector<GroupMessage> messages = every_kind();
  io::Result<std::vector<GroupMessage>> decoded = decode_messages(encode_messages(messages));
  ASSERT_TRUE(decoded.ok()) << decoded.error().to_string();
  ASSERT_EQ(decoded->size(), messages.size());
  for (std::size_t i = 0; i < messages.size(); ++i) {
    EXPECT_EQ((*decoded)[i].group, messages[i].group);
    expect_same((*decoded)[i].message, messages[i].message);
  }
}

TEST(RaftMessageCodec, ControlEntriesKeepTheirKindAndConfiguration) {
  const std::vector<GroupMessage> messages = every_kind();
  const auto& append = std::get<AppendRequest>(messages[2].message.body);
  EXPECT_EQ(append.entries[0].meta, (EntryMeta{5, 7, 2, EntryKind::kData}));
  EXPECT_EQ(append.entries[1].meta, (EntryMeta{8, 8, 3, EntryKind::kLeaderChange}));
  EXPECT_EQ(append.entries[2].meta, (EntryMeta{9, 9, 3, EntryKind::kConfiguration}));
  EXPECT_EQ(append.entries[2].configuration, (Configuration{{1, 2}, {3}}));
}

TEST(RaftMessageCodec, CorruptEntryBatchIsAnError) {
  std::vector<GroupMessage> messages = every_kind();
  auto& append = std::get<AppendRequest>(messages[2].message.body);
  append.entries[0].payload.back() ^= std::byte{1};  // breaks the CRC
  io::Result<std::vector<GroupMessage>> decoded = decode_messages(encode_messages(messages));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().kind, io::ErrorKind::kCorrupt);
}

TEST(RaftMessageCodec, GarbageNeverCrashes) {
  const std::vector<std::byte> good = encode_messages(every_kind());
  io::SeededRandom random(42);
  int decoded_ok = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::byte> bytes;
    if (round % 2 == 0) {
      bytes = good;  // mutate a valid payload: flips, truncations
      const int flips = static_cast<int>(random.between(1, 8));
      for (int i = 0; i < flips; ++i) {
        bytes[random.uniform(bytes.size())] = static_cast<std::byte>(random.uniform(256));
      }
      if (random.chance(0.3)) bytes.resize(random.uniform(bytes.size() + 1));
    } else {
      bytes.resize(random.uniform(512));
      for (std::byte& b : bytes) b = static_cast<std::byte>(random.uniform(256));
    }
    io::Result<std::vector<GroupMessage>> decoded = decode_messages(bytes);
    if (decoded) ++decoded_ok;
  }
  EXPECT_LT(decoded_ok, 20000);
}

}  // namespace
}  // namespace strand::raft
