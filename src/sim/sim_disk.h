// One simulated node's disk. It outlives the node's crashes: the node's file system view
// (SimFileSystem, sim_file_system.h) dies with each incarnation, the disk stays.
//
// What survives a crash:
// - File data: per file, what was synced survives; unsynced changes are dropped, kept, or torn at
//   512-byte sectors (the length anywhere between the synced and the current one). Bytes synced
//   and not written since are never altered by a crash.
// - Names (create, rename, remove, make_dirs): an ordered journal since the last directory sync.
//   sync_dir() of any directory commits the whole journal (as ext4's journal commit does); a crash
//   keeps a random prefix of it, so the names after a crash are a state that really existed, in
//   order (a rename is atomic: the old name or the new one, never neither nor both).
// Faults are injected through faults() and fail_next_syncs(), decided by the SimFileSystem's
// Random; corruption through flip_bit()/flip_random_bit().
//
// Everything is deterministic: ordered containers only, and randomness only from the io::Random
// passed in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "io/file_system.h"
#include "io/random.h"
#include "io/result.h"
#include "io/time.h"
#include "sim/sim_disk_inode.h"
#include "sim/sim_disk_names.h"

namespace strand::sim {

// A latency to inject into one kind of operation: uniform in [min, max]. Zero (the default) means
// the operation completes without sleeping; otherwise it always sleeps on the node's clock.
struct LatencyRange {
  io::Duration min;
  io::Duration max;

  bool zero() const { return max.count_ns() <= 0; }
};

// Faults to inject; may be changed at any time (a scenario's fault schedule).
struct SimDiskFaults {
  static constexpr std::uint64_t kUnlimitedBytes = std::numeric_limits<std::uint64_t>::max();

  double read_error_probability = 0.0;   // per File::read_at: kIoError, nothing read
  double write_error_probability = 0.0;  // per append/write_at/truncate: kIoError, nothing changed
  double sync_error_probability = 0.0;   // per File::sync and sync_dir: kIoError, still unsynced
  // Writes that would grow the live files past this fail with kNoSpace and change nothing.
  std::uint64_t capacity_bytes = kUnlimitedBytes;
  LatencyRange read_latency;
  LatencyRange write_latency;     // append, write_at, truncate
  LatencyRange sync_latency;      // File::sync, sync_dir
  LatencyRange metadata_latency;  // open, rename, remove, list, make_dirs, exists
};

// Counts of what happened, for scenario summaries and tests.
struct SimDiskStats {
  std::uint64_t read_errors_count = 0;
  std::uint64_t write_errors_count = 0;
  std::uint64_t sync_errors_count = 0;
  std::uint64_t no_space_errors_count = 0;
  std::uint64_t slow_ops_count = 0;
  std::uint64_t bit_flips_count = 0;
  std::uint64_t crashes_count = 0;
  std::uint64_t files_dropped_count = 0;  // crashes that dropped a file's unsynced data
  std::uint64_t files_kept_count = 0;     // ... that kept it
  std::uint64_t files_torn_count = 0;     // ... that tore it
  std::uint64_t name_ops_lost_count = 0;  // journal entries a crash did not keep
};

struct BitFlip {
  std::string path;
  std::uint64_t offset = 0;
  unsigned bit = 0;
};

// One entry of a disk image: a directory, or a file and its bytes.
struct ImageEntry {
  EntryKind kind = EntryKind::kFile;
  std::vector<std::byte> bytes;

  friend bool operator==(const ImageEntry&, const ImageEntry&) = default;
};
// Every entry below the root by normalised path.
using SimDiskImage = std::map<std::string, ImageEntry>;

class SimDisk {
 public:
  // The journal is committed on its own once it holds this many operations (as ext4 commits every
  // few seconds), which bounds it for programs that never sync a directory.
  static constexpr std::size_t kJournalOpsMax = 4096;
  // Files may not grow past this (EFBIG); it keeps offsets far from overflow.
  static constexpr std::uint64_t kFileBytesMax = std::uint64_t{1} << 40;

  // `label` names the disk in error messages ("node-2").
  explicit SimDisk(std::string label = "sim-disk");
  SimDisk(const SimDisk&) = delete;
  SimDisk& operator=(const SimDisk&) = delete;

  const std::string& label() const { return label_; }

  // ---- Faults -------------------------------------------------------------------------------
  SimDiskFaults& faults() { return faults_; }
  const SimDiskFaults& faults() const { return faults_; }
  // The next `count` syncs (File::sync or sync_dir) fail with kIoError, whatever the probability.
  void fail_next_syncs(std::uint32_t count) { forced_sync_failures_count_ = count; }
  // Consumes one forced sync failure; true if the sync in progress must fail.
  bool take_forced_sync_failure();
  SimDiskStats& stats() { return stats_; }
  const SimDiskStats& stats() const { return stats_; }

  // ---- Crash --------------------------------------------------------------------------------
  // The node lost power: keeps a random prefix of the name journal, resolves each file's unsynced
  // data (drop, keep or tear), and invalidates every open handle and file system view (they
  // answer kClosed from now on). Afterwards everything is durable.
  void crash(io::Random& random);
  // Changes at each crash; handles and views remember the one they were made in.
  std::uint64_t incarnation() const { return incarnation_; }

  // ---- Corruption ---------------------------------------------------------------------------
  // Flips one random bit of the durable content of a random file that has durable bytes and a
  // current name. nullopt if there is none.
  std::optional<BitFlip> flip_random_bit(io::Random& random);
  // Flips bit `bit` (0-7) of the byte at `offset` of the file at `path` (current names).
  // Errors: kNotFound, kInvalid (a directory, or offset not below the durable size).
  io::Result<void> flip_bit(const std::string& path, std::uint64_t offset, unsigned bit);

  // ---- Inspection ---------------------------------------------------------------------------
  // The synced bytes of the file that `path` names in the durable names: what a crash that
  // dropped every unsynced change would leave. Errors: kNotFound, kInvalid (a directory).
  io::Result<std::vector<std::byte>> durable_bytes(const std::string& path) const;
  // What reads of the file at `path` (current names) see now.
  io::Result<std::vector<std::byte>> current_bytes(const std::string& path) const;
  SimDiskImage durable_image() const;
  SimDiskImage current_image() const;
  // Bytes held by files that have a current name or an open handle (what capacity limits).
  std::uint64_t used_bytes() const { return used_bytes_; }
  std::size_t pending_name_ops_count() const { return journal_.size(); }
  std::size_t unsynced_files_count() const;
  // Asserts the internal invariants (linear in the data; for tests).
  void check_invariants() const;

  // ---- Synchronous operations ---------------------------------------------------------------
  // The device itself, used by SimFileSystem (which adds latency, injected errors and the crash
  // barrier) and by tests that set up a state directly. Paths are normalised here. Errors are as
  // io::FileSystem documents them. These know nothing of incarnations; the views check those.

  // Resolves or creates the file and counts an open handle on it; release() undoes the count.
  io::Result<InodeId> open(const std::string& path, io::OpenMode mode);
  void release(InodeId inode);
  std::uint64_t size(InodeId inode) const;
  std::size_t read(InodeId inode, std::uint64_t offset, std::span<std::byte> target) const;
  // Errors: kNoSpace (capacity), kInvalid (past kFileBytesMax). On error nothing changes.
  io::Result<void> write(InodeId inode, std::uint64_t offset, std::span<const std::byte> bytes);
  io::Result<void> truncate(InodeId inode, std::uint64_t size_bytes);
  void sync(InodeId inode);

  io::Result<void> rename(const std::string& from, const std::string& to);
  io::Result<void> remove(const std::string& path);
  io::Result<std::vector<std::string>> list(const std::string& directory) const;
  // Each missing directory is its own journal entry, so a crash may keep only the upper ones.
  io::Result<void> make_dirs(const std::string& directory);
  // Commits the whole name journal. Errors: kNotFound if `directory` is not one.
  io::Result<void> sync_dir(const std::string& directory);
  io::Result<bool> exists(const std::string& path) const;

 private:
  enum class Side : std::uint8_t { kDurable, kCurrent };

  struct InodeSlot {
    SimInode data;
    std::uint32_t open_count = 0;
    bool live = false;  // named in the current names or open: counted in used_bytes_
  };

  SimInode& inode_at(InodeId inode);
  const SimInode& inode_at(InodeId inode) const;
  // Accounts a live file's change of size against the capacity. Errors: kNoSpace.
  io::Result<void> account_resize(InodeId inode, std::uint64_t new_size);
  io::Result<void> record(NameOp op);
  void commit_journal();
  // Drops inodes no state reachable by a crash can name, and recounts live bytes.
  void reconcile();
  io::Result<std::vector<std::byte>> bytes_of(Side side, const std::string& path) const;
  SimDiskImage image_of(Side side) const;

  std::string label_;
  SimDiskFaults faults_;
  SimDiskStats stats_;
  std::uint32_t forced_sync_failures_count_ = 0;
  std::uint64_t incarnation_ = 0;

  std::map<InodeId, InodeSlot> inodes_;
  InodeId next_inode_ = 1;
  SimNames durable_names_;
  SimNames current_names_;  // durable_names_ with journal_ applied
  std::vector<NameOp> journal_;
  std::uint64_t used_bytes_ = 0;
  // The files the journal creates: a crash may keep their names even if the current names lost
  // them since.
  std::set<InodeId> journal_created_;
};

}  // namespace strand::sim
