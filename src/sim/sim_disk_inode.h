// One simulated file's data: what reads see now (current), what would survive a crash (durable),
// and which 512-byte sectors changed in between. A crash resolves the difference by a PRNG: drop
// every unsynced change, keep every one, or tear (each changed sector old or new independently).
// Bytes that were synced and not written since are never altered by a crash.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "io/random.h"

namespace strand::sim {

// The unit in which unsynced writes reach the platter (or don't) in a crash.
inline constexpr std::uint64_t kSectorBytes = 512;

// A set of sector indexes, kept as merged half-open ranges [first, end) so that a long run of
// appends costs one range, not one entry per sector.
class SectorSet {
 public:
  // Adds sectors [first, end). Empty ranges are ignored.
  void add(std::uint64_t first, std::uint64_t end);
  // Adds every sector overlapping the bytes [begin_offset, end_offset).
  void add_bytes(std::uint64_t begin_offset, std::uint64_t end_offset);
  bool contains(std::uint64_t sector) const;
  bool empty() const { return ranges_.empty(); }
  void clear() { ranges_.clear(); }
  std::uint64_t sectors_count() const;
  // first -> end, disjoint and not adjacent (adjacent ranges are merged).
  const std::map<std::uint64_t, std::uint64_t>& ranges() const { return ranges_; }

 private:
  std::map<std::uint64_t, std::uint64_t> ranges_;
};

// What a crash did to one file.
enum class CrashOutcome : std::uint8_t {
  kClean,    // nothing was unsynced
  kDropped,  // every unsynced change vanished
  kKept,     // every unsynced change survived
  kTorn,     // some sectors old, some new; the length anywhere between
};

class SimInode {
 public:
  const std::vector<std::byte>& current() const { return current_; }
  const std::vector<std::byte>& durable() const { return durable_; }
  std::uint64_t size() const { return current_.size(); }
  // True if a crash now could change what reads see.
  bool dirty() const { return !dirty_sectors_.empty(); }
  const SectorSet& dirty_sectors() const { return dirty_sectors_; }

  // Copies up to target.size() bytes at `offset` from the current content; returns the count
  // (0 at or past the end).
  std::size_t read(std::uint64_t offset, std::span<std::byte> target) const;
  // Writes at `offset`, zero-filling any gap past the end. Not durable until sync().
  void write(std::uint64_t offset, std::span<const std::byte> bytes);
  // Shrinks (dropping the tail) or grows (adding zeros). Not durable until sync().
  void truncate(std::uint64_t size_bytes);
  // Makes the current content durable.
  void sync();

  // Resolves unsynced changes as a crash would (see the file comment); afterwards the inode is
  // clean and current == durable. Draws from `random` only if the inode is dirty.
  CrashOutcome crash(io::Random& random);

  // Flips one bit of the durable content (latent media corruption). What reads see changes too,
  // unless the sector holds unsynced data, which the next sync() writes over the flip.
  // REQUIRES: offset < durable().size(), bit < 8.
  void flip_bit(std::uint64_t offset, unsigned bit);

  // Asserts the representation invariant: outside the dirty sectors current equals durable.
  // Linear in the file size; for tests.
  void check_invariants() const;

 private:
  std::uint64_t torn_length(io::Random& random) const;

  std::vector<std::byte> current_;
  std::vector<std::byte> durable_;
  // Sectors where current_ may differ from durable_, including every sector touched by a length
  // change, so a clean sector never straddles either length.
  SectorSet dirty_sectors_;
};

}  // namespace strand::sim
