#include "sim/sim_disk_inode.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <utility>

#include "io/assert.h"

namespace strand::sim {

void SectorSet::add(std::uint64_t first, std::uint64_t end) {
  if (first >= end) return;
  auto next = ranges_.upper_bound(first);
  if (next != ranges_.begin()) {
    const auto previous = std::prev(next);
    if (previous->second >= first) {  // overlaps or touches: absorb it
      first = previous->first;
      end = std::max(end, previous->second);
      next = ranges_.erase(previous);
    }
  }
  // Every later range that overlaps or touches [first, end) is absorbed; the map bounds the loop.
  while (next != ranges_.end() && next->first <= end) {
    end = std::max(end, next->second);
    next = ranges_.erase(next);
  }
  ranges_.emplace(first, end);
}

void SectorSet::add_bytes(std::uint64_t begin_offset, std::uint64_t end_offset) {
  if (begin_offset >= end_offset) return;
  add(begin_offset / kSectorBytes, (end_offset + kSectorBytes - 1) / kSectorBytes);
}

bool SectorSet::contains(std::uint64_t sector) const {
  auto next = ranges_.upper_bound(sector);
  if (next == ranges_.begin()) return false;
  return sector < std::prev(next)->second;
}

std::uint64_t SectorSet::sectors_count() const {
  std::uint64_t count = 0;
  for (const auto& [first, end] : ranges_) count += end - first;
  return count;
}

std::size_t SimInode::read(std::uint64_t offset, std::span<std::byte> target) const {
  if (offset >= current_.size()) return 0;
  const std::size_t count = std::min<std::uint64_t>(target.size(), current_.size() - offset);
  std::memcpy(target.data(), current_.data() + offset, count);
  return count;
}

void SimInode::write(std::uint64_t offset, std::span<const std::byte> bytes) {
  if (bytes.empty()) return;  // like pwrite of 0 bytes: the size does not change
  const std::uint64_t old_size = current_.size();
  const std::uint64_t end = offset + bytes.size();
  STRAND_ASSERT(end > offset, "write range does not overflow");
  if (end > old_size) current_.resize(end);  // zero-fills a gap past the old end
  std::memcpy(current_.data() + offset, bytes.data(), bytes.size());
  dirty_sectors_.add_bytes(std::min(offset, old_size), end);
}

void SimInode::truncate(std::uint64_t size_bytes) {
  const std::uint64_t old_size = current_.size();
  if (size_bytes == old_size) return;
  current_.resize(size_bytes);
  // Both lengths' boundary sectors become dirty, so a crash may leave any length in between.
  dirty_sectors_.add_bytes(std::min(size_bytes, old_size), std::max(size_bytes, old_size));
}

void SimInode::sync() {
  const std::uint64_t size = current_.size();
  durable_.resize(size);
  // Outside the dirty sectors current_ already equals durable_, so copying them is enough.
  for (const auto& [first, end] : dirty_sectors_.ranges()) {
    const std::uint64_t begin_offset = first * kSectorBytes;
    if (begin_offset >= size) break;
    const std::uint64_t end_offset = std::min(end * kSectorBytes, size);
    std::memcpy(durable_.data() + begin_offset, current_.data() + begin_offset,
                end_offset - begin_offset);
  }
  dirty_sectors_.clear();
}

std::uint64_t SimInode::torn_length(io::Random& random) const {
  const std::uint64_t durable_size = durable_.size();
  const std::uint64_t current_size = current_.size();
  const std::uint64_t low = std::min(durable_size, current_size);
  const std::uint64_t high = std::max(durable_size, current_size);
  const std::uint64_t choice = random.uniform(3);
  if (choice == 0) return durable_size;
  if (choice == 1) return current_size;
  // A sector boundary strictly between the two lengths, if there is one.
  const std::uint64_t first_boundary = low / kSectorBytes + 1;
  if (high == 0) return durable_size;
  const std::uint64_t last_boundary = (high - 1) / kSectorBytes;
  if (first_boundary > last_boundary) return durable_size;
  const auto boundary = static_cast<std::uint64_t>(random.between(
      static_cast<std::int64_t>(first_boundary), static_cast<std::int64_t>(last_boundary)));
  return boundary * kSectorBytes;
}

CrashOutcome SimInode::crash(io::Random& random) {
  if (!dirty()) return CrashOutcome::kClean;
  const std::uint64_t choice = random.uniform(3);
  if (choice == 0) {
    current_ = durable_;
    dirty_sectors_.clear();
    return CrashOutcome::kDropped;
  }
  if (choice == 1) {
    sync();
    return CrashOutcome::kKept;
  }
  // Torn: start from the durable image at the chosen length (zeros past the durable end), then
  // let each dirty sector independently take the new content.
  const std::uint64_t length = torn_length(random);
  std::vector<std::byte> result = durable_;
  result.resize(length);
  const std::uint64_t new_end = std::min<std::uint64_t>(length, current_.size());
  for (const auto& [first, end] : dirty_sectors_.ranges()) {
    for (std::uint64_t sector = first; sector < end; ++sector) {
      const std::uint64_t begin_offset = sector * kSectorBytes;
      if (begin_offset >= length) break;
      if (random.uniform(2) == 0) continue;   // this sector keeps its old content
      if (begin_offset >= new_end) continue;  // nothing new here: old bytes or zeros stay
      const std::uint64_t end_offset = std::min(begin_offset + kSectorBytes, new_end);
      std::memcpy(result.data() + begin_offset, current_.data() + begin_offset,
                  end_offset - begin_offset);
    }
  }
  durable_ = result;
  current_ = std::move(result);
  dirty_sectors_.clear();
  return CrashOutcome::kTorn;
}

void SimInode::flip_bit(std::uint64_t offset, unsigned bit) {
  STRAND_ASSERT(offset < durable_.size(), "a bit flip hits durable content");
  STRAND_ASSERT(bit < 8, "a byte has eight bits");
  const auto mask = static_cast<std::byte>(1u << bit);
  durable_[offset] ^= mask;
  // A clean sector is what reads see; a dirty one is shadowed by unsynced data.
  if (!dirty_sectors_.contains(offset / kSectorBytes)) {
    STRAND_ASSERT(offset < current_.size(), "a clean sector lies inside both lengths");
    current_[offset] ^= mask;
  }
}

void SimInode::check_invariants() const {
  const std::uint64_t high = std::max(durable_.size(), current_.size());
  const std::uint64_t sectors = (high + kSectorBytes - 1) / kSectorBytes;
  for (std::uint64_t sector = 0; sector < sectors; ++sector) {
    if (dirty_sectors_.contains(sector)) continue;
    const std::uint64_t begin_offset = sector * kSectorBytes;
    const std::uint64_t end_offset = std::min(begin_offset + kSectorBytes, high);
    STRAND_ASSERT(end_offset <= durable_.size(), "a clean sector lies inside the durable length");
    STRAND_ASSERT(end_offset <= current_.size(), "a clean sector lies inside the current length");
    STRAND_ASSERT(std::memcmp(durable_.data() + begin_offset, current_.data() + begin_offset,
                              end_offset - begin_offset) == 0,
                  "a clean sector reads as its durable content");
  }
}

}  // namespace strand::sim
