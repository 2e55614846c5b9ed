// The numbers Raft is made of, under Kafka's names for them.
#pragma once

#include <cstdint>

namespace strand::raft {

using NodeId = std::int32_t;  // a Kafka broker id
using Term = std::int32_t;    // a Kafka leader epoch
using Offset = std::int64_t;  // a Kafka offset; the Raft index

inline constexpr NodeId kNoNode = -1;

}  // namespace strand::raft
