// Record batches as Raft entries. A data entry is a producer's batch; the control entries the core
// creates (a new leader's leader-change entry, configuration entries) are Kafka control batches
// (attribute bit 5) holding one record whose key is Kafka's control key (version i16, type i16)
// and whose value says what changed. Consumers skip control batches, as Kafka's do.
//
// entry_from_batch() is how a follower learns an entry from the wire and how the driver learns
// one from its log: offsets from baseOffset and lastOffsetDelta, the term from
// partitionLeaderEpoch, the kind and configuration from the control record.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "broker/raft/types.h"
#include "io/result.h"

namespace strand::raft {

// Kafka's control record types; 6 (KRaft voters) carries our configuration encoding.
inline constexpr std::int16_t kControlTypeLeaderChange = 2;
inline constexpr std::int16_t kControlTypeConfiguration = 6;
// A configuration value longer than this is bad input.
inline constexpr std::size_t kConfigurationMembersMax = 1024;

// The control batch for `entry` (kLeaderChange or kConfiguration, one offset), with its base
// offset and term stamped. REQUIRES: entry.meta.kind != kData, base_offset == last_offset, and
// entry.configuration set exactly for kConfiguration.
std::vector<std::byte> build_control_batch(const Entry& entry, std::int64_t timestamp_ms);

// The entry one whole stored or received batch is. Errors: kCorrupt (not one valid batch, an
// unknown control type, a malformed configuration, a term < 1 or an offset < 0).
io::Result<Entry> entry_from_batch(std::span<const std::byte> batch);

// Splits back-to-back batches into entries, at most `entries_max`. Errors as entry_from_batch,
// and kCorrupt for trailing bytes or more entries than allowed.
io::Result<std::vector<Entry>> entries_from_batches(std::span<const std::byte> bytes,
                                                    std::size_t entries_max);

}  // namespace strand::raft
