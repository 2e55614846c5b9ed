// Raft messages on the wire (raft_messages.fbs): a batch of (group, message) pairs that one RPC
// carries from one broker to another. AppendRequest entries travel as their record batches,
// verbatim; the decoder re-derives each entry from its batch (control_batch.h), so a follower
// stores exactly the bytes the leader stored.
//
// Bad input never asserts: a payload that fails the FlatBuffers verifier, a message without a
// body, an entry whose batch is corrupt, or more than the limits decode to a kCorrupt error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "broker/raft/types.h"
#include "io/result.h"

namespace strand::raft {

// A Raft group's id on the wire: a number the creator of the group assigns (the controller, one
// per partition; group 0 is reserved for the metadata log). Brokers route by it (GroupRegistry).
using GroupId = std::uint64_t;

struct GroupMessage {
  GroupId group = 0;
  Message message;
};

// One RPC carries at most this many messages.
inline constexpr std::size_t kBatchMessagesMax = 4096;

// REQUIRES: messages.size() <= kBatchMessagesMax, AppendRequest entries carry their payloads
// (the stored batches, offsets and term stamped).
std::vector<std::byte> encode_messages(std::span<const GroupMessage> messages);

// Errors: kCorrupt, with what was wrong.
io::Result<std::vector<GroupMessage>> decode_messages(std::span<const std::byte> payload);

}  // namespace strand::raft
