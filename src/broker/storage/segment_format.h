// On-disk constants of a partition log, shared by writer, reader and recovery; nothing else here.
//
// A partition is a directory of segments. Segment N (N = its base offset, 20 digits) is
//   <N>.log    record batches v2, verbatim, back to back
//   <N>.index  written when the segment is sealed (and at clean shutdown): the sparse index below,
//              with the segment's largest timestamp; its CRC lets recovery tell a good one from
//              junk.
// Plus `clean_shutdown` (present only between a clean close and the next open) and
// `log_start_offset` (the checkpoint of the first offset still readable).
#pragma once

#include <cstdint>
#include <limits>

#include "broker/protocol/record_batch.h"

namespace strand::storage {

inline constexpr char kLogSuffix[] = ".log";
inline constexpr char kIndexSuffix[] = ".index";
inline constexpr char kCleanShutdownName[] = "clean_shutdown";
inline constexpr char kLogStartOffsetName[] = "log_start_offset";
inline constexpr std::uint32_t kSegmentNameDigits = 20;

// Index file: header, entries, CRC-32C of everything before it.
inline constexpr std::uint32_t kIndexMagic = 0x58444953;  // "SIDX" little-endian
inline constexpr std::uint16_t kIndexVersion = 1;
// magic u32 | version u16 | entries u32 | max_timestamp i64 | next_offset i64 | log_bytes u64
inline constexpr std::uint32_t kIndexHeaderBytes = 4 + 2 + 4 + 8 + 8 + 8;
// relative_offset u32 | position u32 | max_timestamp_so_far i64
inline constexpr std::uint32_t kIndexEntryBytes = 16;
inline constexpr std::uint32_t kIndexTrailerBytes = 4;

inline constexpr std::uint64_t kSegmentBytesDefault = 1ull << 30;    // log.segment.bytes
inline constexpr std::uint64_t kSegmentBytesMax = (1ull << 31) - 1;  // positions are u32
inline constexpr std::uint32_t kIndexIntervalBytesDefault = 4096;    // log.index.interval.bytes
inline constexpr std::int64_t kRetentionMsDefault = 7ll * 24 * 3600 * 1000;  // log.retention.ms
inline constexpr std::int64_t kRollMsDefault = 7ll * 24 * 3600 * 1000;       // log.roll.ms
// Recovery reads this much at a time; a batch longer than this is read whole on its own.
inline constexpr std::uint32_t kRecoveryChunkBytes = 1u << 20;

static_assert(kSegmentBytesMax <= std::numeric_limits<std::uint32_t>::max(),
              "index positions are u32");
static_assert(kSegmentBytesDefault <= kSegmentBytesMax, "the default segment fits the index");
static_assert(protocol::kBatchBytesMax <= kSegmentBytesMax, "a batch always fits a segment");
// kRecoveryBatchesMax: no legal segment holds more batches than this, which bounds every scan.
inline constexpr std::uint64_t kRecoveryBatchesMax = kSegmentBytesMax / protocol::kBatchHeaderBytes;

}  // namespace strand::storage
