// The small files a replica keeps beside its partition's segments, each rewritten atomically
// (storage/atomic_file.h) and checked by a CRC-32C on read:
//   raft-state               the hard state: term and vote (stored before anything that needs it)
//   leader-epoch-checkpoint  the term boundaries of the log (like Kafka's file of that name: the
//                            offset at which each term's entries start, beginning with the term of
//                            log start - 1) and the configuration in effect before the log start
//                            (the bootstrap at first; configuration entries in the log are
//                            replayed over it on open)
//   high-watermark-checkpoint  a high watermark this replica exposed (so committed and durable
//                            here), written every few seconds like Kafka's
//                            replication-offset-checkpoint; restores the commit index on open
// A missing file means a fresh replica; a file that fails its check is kCorrupt.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "broker/raft/configuration.h"
#include "broker/raft/term_index.h"
#include "broker/raft/types.h"
#include "io/file_system.h"

namespace strand::raft {

inline constexpr char kHardStateFileName[] = "raft-state";
inline constexpr char kEpochCheckpointFileName[] = "leader-epoch-checkpoint";
inline constexpr char kHighWatermarkFileName[] = "high-watermark-checkpoint";
// Present in a replica directory whose state was deleted (the broker stopped hosting the
// partition): a replica opened there again is rejoining (RaftCore::rejoining()) until it caught
// up with a leader.
inline constexpr char kRejoinMarkerFileName[] = "deleted-rejoin-marker";
// Present in a replica directory whose log held a corrupt batch: the next open drops the log from
// the offset it names on (the rejoin marker, written before it, makes the replica rejoin), and
// removes it once the cut is durable.
inline constexpr char kRepairMarkerFileName[] = "repair-from-marker";
inline constexpr std::size_t kEpochsMax = 1 << 16;

struct EpochCheckpoint {
  std::vector<TermStart> epochs;  // strictly increasing terms and offsets, never empty
  Configuration configuration;    // in effect before the log start offset
};

io::Task<io::Result<void>> write_hard_state(io::FileSystem& fs, std::string directory,
                                            HardState state);
// nullopt if the file does not exist.
io::Task<io::Result<std::optional<HardState>>> read_hard_state(io::FileSystem& fs,
                                                               std::string directory);

io::Task<io::Result<void>> write_epoch_checkpoint(io::FileSystem& fs, std::string directory,
                                                  EpochCheckpoint checkpoint);
io::Task<io::Result<std::optional<EpochCheckpoint>>> read_epoch_checkpoint(io::FileSystem& fs,
                                                                           std::string directory);

io::Task<io::Result<void>> write_high_watermark(io::FileSystem& fs, std::string directory,
                                                Offset high_watermark);
// nullopt if the file does not exist.
io::Task<io::Result<std::optional<Offset>>> read_high_watermark(io::FileSystem& fs,
                                                                std::string directory);

struct RejoinMarker {
  // The end of the log the replica lost part of (RestoredState::rejoin_floor); nullopt for a
  // replica whose state was deleted.
  std::optional<OffsetAndTerm> floor;
};

// Writes the rejoin marker, durably (the file and its name), into `directory`.
io::Task<io::Result<void>> write_rejoin_marker(io::FileSystem& fs, std::string directory,
                                               std::optional<OffsetAndTerm> floor = {});
// The rejoin marker in `directory`; nullopt if there is none.
io::Task<io::Result<std::optional<RejoinMarker>>> read_rejoin_marker(io::FileSystem& fs,
                                                                     std::string directory);
// Removes the marker, durably; fine if it is not there.
io::Task<io::Result<void>> remove_rejoin_marker(io::FileSystem& fs, std::string directory);

// The repair marker (kRepairMarkerFileName): written durably, read (nullopt if absent; kCorrupt if
// unreadable), removed durably (fine if absent).
io::Task<io::Result<void>> write_repair_marker(io::FileSystem& fs, std::string directory,
                                               Offset from);
io::Task<io::Result<std::optional<Offset>>> read_repair_marker(io::FileSystem& fs,
                                                               std::string directory);
io::Task<io::Result<void>> remove_repair_marker(io::FileSystem& fs, std::string directory);

}  // namespace strand::raft
