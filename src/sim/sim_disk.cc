#include "sim/sim_disk.h"

#include <algorithm>
#include <set>
#include <utility>

#include "io/assert.h"

namespace strand::sim {
namespace {

using io::Error;
using io::ErrorKind;

Error path_error(ErrorKind kind, const std::string& path, std::string_view what) {
  std::string message = path;
  message += ": ";
  message += what;
  return Error{kind, std::move(message)};
}

}  // namespace

SimDisk::SimDisk(std::string label) : label_(std::move(label)) {}

bool SimDisk::take_forced_sync_failure() {
  if (forced_sync_failures_count_ == 0) return false;
  forced_sync_failures_count_ -= 1;
  return true;
}

SimInode& SimDisk::inode_at(InodeId inode) {
  const auto found = inodes_.find(inode);
  STRAND_ASSERT(found != inodes_.end(), "an inode in use exists");
  return found->second.data;
}

const SimInode& SimDisk::inode_at(InodeId inode) const {
  const auto found = inodes_.find(inode);
  STRAND_ASSERT(found != inodes_.end(), "an inode in use exists");
  return found->second.data;
}

// ---- Crash --------------------------------------------------------------------------------------

void SimDisk::crash(io::Random& random) {
  stats_.crashes_count += 1;
  // Names first: the journal reaches the platter in order, so whatever made it is a prefix.
  const std::size_t kept_count = random.uniform(journal_.size() + 1);
  for (std::size_t i = 0; i < kept_count; ++i) durable_names_.apply(journal_[i]);
  stats_.name_ops_lost_count += journal_.size() - kept_count;
  journal_.clear();
  journal_created_.clear();
  current_names_ = durable_names_;

  // Every handle of the old incarnation is dead; files nobody can name any more are gone.
  incarnation_ += 1;
  for (auto& [id, slot] : inodes_) slot.open_count = 0;
  reconcile();

  for (auto& [id, slot] : inodes_) {
    switch (slot.data.crash(random)) {
      case CrashOutcome::kClean:
        break;
      case CrashOutcome::kDropped:
        stats_.files_dropped_count += 1;
        break;
      case CrashOutcome::kKept:
        stats_.files_kept_count += 1;
        break;
      case CrashOutcome::kTorn:
        stats_.files_torn_count += 1;
        break;
    }
  }
  reconcile();  // sizes changed
  STRAND_ASSERT(unsynced_files_count() == 0, "after a crash everything is durable");
}

// ---- Corruption ---------------------------------------------------------------------------------

std::optional<BitFlip> SimDisk::flip_random_bit(io::Random& random) {
  std::vector<std::pair<std::string, InodeId>> candidates;
  for (const auto& [path, entry] : current_names_.entries()) {
    if (entry.kind != EntryKind::kFile) continue;
    if (inode_at(entry.inode).durable().empty()) continue;
    candidates.emplace_back(path, entry.inode);
  }
  if (candidates.empty()) return std::nullopt;
  const auto& [path, inode] = candidates[random.uniform(candidates.size())];
  SimInode& data = inode_at(inode);
  BitFlip flip{path, random.uniform(data.durable().size()),
               static_cast<unsigned>(random.uniform(8))};
  data.flip_bit(flip.offset, flip.bit);
  stats_.bit_flips_count += 1;
  return flip;
}

io::Result<void> SimDisk::flip_bit(const std::string& path, std::uint64_t offset, unsigned bit) {
  io::Result<std::string> normalized = normalize_path(path);
  if (!normalized) return std::move(normalized).error();
  const std::optional<NameEntry> entry = current_names_.find(*normalized);
  if (!entry) return path_error(ErrorKind::kNotFound, *normalized, "no such file");
  if (entry->kind != EntryKind::kFile) {
    return path_error(ErrorKind::kInvalid, *normalized, "is a directory");
  }
  SimInode& data = inode_at(entry->inode);
  if (offset >= data.durable().size() || bit >= 8) {
    return path_error(ErrorKind::kInvalid, *normalized, "bit flip outside the durable content");
  }
  data.flip_bit(offset, bit);
  stats_.bit_flips_count += 1;
  return io::ok();
}

// ---- Inspection ---------------------------------------------------------------------------------

io::Result<std::vector<std::byte>> SimDisk::bytes_of(Side side, const std::string& path) const {
  io::Result<std::string> normalized = normalize_path(path);
  if (!normalized) return std::move(normalized).error();
  const SimNames& names = side == Side::kDurable ? durable_names_ : current_names_;
  const std::optional<NameEntry> entry = names.find(*normalized);
  if (!entry) return path_error(ErrorKind::kNotFound, *normalized, "no such file");
  if (entry->kind != EntryKind::kFile) {
    return path_error(ErrorKind::kInvalid, *normalized, "is a directory");
  }
  const SimInode& data = inode_at(entry->inode);
  return side == Side::kDurable ? data.durable() : data.current();
}

io::Result<std::vector<std::byte>> SimDisk::durable_bytes(const std::string& path) const {
  return bytes_of(Side::kDurable, path);
}

io::Result<std::vector<std::byte>> SimDisk::current_bytes(const std::string& path) const {
  return bytes_of(Side::kCurrent, path);
}

SimDiskImage SimDisk::image_of(Side side) const {
  const SimNames& names = side == Side::kDurable ? durable_names_ : current_names_;
  SimDiskImage image;
  for (const auto& [path, entry] : names.entries()) {
    ImageEntry& out = image[path];
    out.kind = entry.kind;
    if (entry.kind != EntryKind::kFile) continue;
    const SimInode& data = inode_at(entry.inode);
    out.bytes = side == Side::kDurable ? data.durable() : data.current();
  }
  return image;
}

SimDiskImage SimDisk::durable_image() const { return image_of(Side::kDurable); }

SimDiskImage SimDisk::current_image() const { return image_of(Side::kCurrent); }

std::size_t SimDisk::unsynced_files_count() const {
  std::size_t count = 0;
  for (const auto& [id, slot] : inodes_) count += slot.data.dirty() ? 1 : 0;
  return count;
}

void SimDisk::check_invariants() const {
  SimNames replayed = durable_names_;
  for (const NameOp& op : journal_) replayed.apply(op);
  STRAND_ASSERT(replayed == current_names_, "current names are the durable ones plus the journal");
  STRAND_ASSERT(journal_.size() < kJournalOpsMax, "the journal is bounded");
  std::set<InodeId> created;
  for (const NameOp& op : journal_) {
    if (op.kind == NameOp::Kind::kCreateFile) created.insert(op.inode);
  }
  STRAND_ASSERT(created == journal_created_, "journal_created_ lists the journal's new files");
  std::set<InodeId> named;
  for (const SimNames* names : {&durable_names_, &current_names_}) {
    for (const auto& [path, entry] : names->entries()) {
      if (entry.kind != EntryKind::kFile) continue;
      STRAND_ASSERT(inodes_.contains(entry.inode), "a named file has data");
      STRAND_ASSERT(names->names_file(entry.inode), "a named file's inode is known as named");
      if (names == &current_names_) named.insert(entry.inode);
    }
  }
  std::uint64_t used = 0;
  for (const auto& [id, slot] : inodes_) {
    STRAND_ASSERT(id < next_inode_, "inode ids are handed out in order");
    const bool live = named.contains(id) || slot.open_count > 0;
    STRAND_ASSERT(slot.live == live, "live means named now or open");
    if (live) used += slot.data.size();
    slot.data.check_invariants();
  }
  STRAND_ASSERT(used == used_bytes_, "used bytes count exactly the live files");
}

// ---- Files --------------------------------------------------------------------------------------

io::Result<InodeId> SimDisk::open(const std::string& path, io::OpenMode mode) {
  io::Result<std::string> normalized = normalize_path(path);
  if (!normalized) return std::move(normalized).error();
  const std::optional<NameEntry> entry = current_names_.find(*normalized);
  InodeId inode = 0;
  if (entry) {
    if (entry->kind != EntryKind::kFile) {
      return path_error(ErrorKind::kInvalid, *normalized, "is a directory");
    }
    if (mode == io::OpenMode::kCreateNew) {
      return path_error(ErrorKind::kExists, *normalized, "already exists");
    }
    inode = entry->inode;
    if (mode == io::OpenMode::kTruncate) {
      io::Result<void> emptied = truncate(inode, 0);
      STRAND_ASSERT(emptied.ok(), "emptying a file needs no space");
    }
  } else {
    if (mode == io::OpenMode::kReadOnly || mode == io::OpenMode::kReadWrite) {
      return path_error(ErrorKind::kNotFound, *normalized, "no such file");
    }
    inode = next_inode_;
    io::Result<void> created = record(NameOp{NameOp::Kind::kCreateFile, *normalized, {}, inode});
    if (!created) return std::move(created).error();
    next_inode_ += 1;
    inodes_.emplace(inode, InodeSlot{});
  }
  InodeSlot& slot = inodes_.at(inode);
  slot.open_count += 1;
  slot.live = true;  // named, so already counted; a new file adds no bytes
  return inode;
}

void SimDisk::release(InodeId inode) {
  InodeSlot& slot = inodes_.at(inode);
  STRAND_ASSERT(slot.open_count > 0, "release matches an open");
  slot.open_count -= 1;
  if (slot.open_count > 0) return;
  // A file that still has a name stays as it is (the common case, and a cheap one to see); an
  // unnamed file's space comes back now.
  if (current_names_.names_file(inode)) return;
  reconcile();
}

std::uint64_t SimDisk::size(InodeId inode) const { return inode_at(inode).size(); }

std::size_t SimDisk::read(InodeId inode, std::uint64_t offset, std::span<std::byte> target) const {
  return inode_at(inode).read(offset, target);
}

io::Result<void> SimDisk::account_resize(InodeId inode, std::uint64_t new_size) {
  const InodeSlot& slot = inodes_.at(inode);
  STRAND_ASSERT(slot.live, "only live files change size");
  const std::uint64_t old_size = slot.data.size();
  if (new_size <= old_size) {
    used_bytes_ -= old_size - new_size;
    return io::ok();
  }
  const std::uint64_t growth = new_size - old_size;
  const std::uint64_t capacity = faults_.capacity_bytes;
  if (used_bytes_ > capacity || growth > capacity - used_bytes_) {
    stats_.no_space_errors_count += 1;
    return Error{ErrorKind::kNoSpace, label_ + ": no space left on device (" +
                                          std::to_string(used_bytes_) + " of " +
                                          std::to_string(capacity) + " bytes used, " +
                                          std::to_string(growth) + " more needed)"};
  }
  used_bytes_ += growth;
  return io::ok();
}

io::Result<void> SimDisk::write(InodeId inode, std::uint64_t offset,
                                std::span<const std::byte> bytes) {
  if (bytes.empty()) return io::ok();
  if (offset > kFileBytesMax || bytes.size() > kFileBytesMax - offset) {
    return Error{ErrorKind::kInvalid, label_ + ": write past the largest file size"};
  }
  const std::uint64_t end = offset + bytes.size();
  io::Result<void> accounted = account_resize(inode, std::max(size(inode), end));
  if (!accounted) return accounted;
  inode_at(inode).write(offset, bytes);
  return io::ok();
}

io::Result<void> SimDisk::truncate(InodeId inode, std::uint64_t size_bytes) {
  if (size_bytes > kFileBytesMax) {
    return Error{ErrorKind::kInvalid, label_ + ": truncate past the largest file size"};
  }
  io::Result<void> accounted = account_resize(inode, size_bytes);
  if (!accounted) return accounted;
  inode_at(inode).truncate(size_bytes);
  return io::ok();
}

void SimDisk::sync(InodeId inode) { inode_at(inode).sync(); }

// ---- Names --------------------------------------------------------------------------------------

io::Result<void> SimDisk::record(NameOp op) {
  io::Result<void> valid = current_names_.check(op);
  if (!valid) return valid;
  if (op.kind == NameOp::Kind::kRename && op.path == op.to) return io::ok();
  current_names_.apply(op);
  if (op.kind == NameOp::Kind::kCreateFile) journal_created_.insert(op.inode);
  journal_.push_back(std::move(op));
  if (journal_.size() >= kJournalOpsMax) commit_journal();
  return io::ok();
}

void SimDisk::commit_journal() {
  for (const NameOp& op : journal_) durable_names_.apply(op);
  journal_.clear();
  journal_created_.clear();
}

void SimDisk::reconcile() {
  // An inode must stay while any state a crash could produce names it: the durable names, the
  // current names, or an intermediate state (its creation is still in the journal).
  used_bytes_ = 0;
  for (auto it = inodes_.begin(); it != inodes_.end();) {
    const InodeId id = it->first;
    InodeSlot& slot = it->second;
    slot.live = current_names_.names_file(id) || slot.open_count > 0;
    if (!slot.live && !durable_names_.names_file(id) && !journal_created_.contains(id)) {
      it = inodes_.erase(it);
      continue;
    }
    if (slot.live) used_bytes_ += slot.data.size();
    ++it;
  }
}

io::Result<void> SimDisk::rename(const std::string& from, const std::string& to) {
  io::Result<std::string> source = normalize_path(from);
  if (!source) return std::move(source).error();
  io::Result<std::string> target = normalize_path(to);
  if (!target) return std::move(target).error();
  io::Result<void> renamed = record(NameOp{NameOp::Kind::kRename, *source, *target, 0});
  if (!renamed) return renamed;
  reconcile();  // a replaced target may have lost its last name
  return io::ok();
}

io::Result<void> SimDisk::remove(const std::string& path) {
  io::Result<std::string> normalized = normalize_path(path);
  if (!normalized) return std::move(normalized).error();
  io::Result<void> removed = record(NameOp{NameOp::Kind::kRemove, *normalized, {}, 0});
  if (!removed) return removed;
  reconcile();
  return io::ok();
}

io::Result<std::vector<std::string>> SimDisk::list(const std::string& directory) const {
  io::Result<std::string> normalized = normalize_path(directory);
  if (!normalized) return std::move(normalized).error();
  const std::optional<NameEntry> entry = current_names_.find(*normalized);
  if (!entry) return path_error(ErrorKind::kNotFound, *normalized, "no such directory");
  if (entry->kind != EntryKind::kDirectory) {
    return path_error(ErrorKind::kNotFound, *normalized, "not a directory");
  }
  return current_names_.children(*normalized);
}

io::Result<void> SimDisk::make_dirs(const std::string& directory) {
  io::Result<std::string> normalized = normalize_path(directory);
  if (!normalized) return std::move(normalized).error();
  if (*normalized == kRootPath) return io::ok();
  // Each ancestor in turn, from the top, then the directory itself.
  std::size_t next = 0;
  for (std::size_t components = 0;; ++components) {
    STRAND_ASSERT(components <= normalized->size(), "one component per pass");
    const std::size_t slash = normalized->find('/', next);
    const std::string prefix = normalized->substr(0, slash);
    const std::optional<NameEntry> entry = current_names_.find(prefix);
    if (entry && entry->kind != EntryKind::kDirectory) {
      return path_error(ErrorKind::kExists, prefix, "is a file");
    }
    if (!entry) {
      io::Result<void> made = record(NameOp{NameOp::Kind::kMakeDirectory, prefix, {}, 0});
      if (!made) return made;
    }
    if (slash == std::string::npos) return io::ok();
    next = slash + 1;
  }
}

io::Result<void> SimDisk::sync_dir(const std::string& directory) {
  io::Result<std::string> normalized = normalize_path(directory);
  if (!normalized) return std::move(normalized).error();
  if (!current_names_.is_directory(*normalized)) {
    return path_error(ErrorKind::kNotFound, *normalized, "no such directory");
  }
  commit_journal();
  reconcile();  // inodes only the journal remembered are gone for good
  return io::ok();
}

io::Result<bool> SimDisk::exists(const std::string& path) const {
  io::Result<std::string> normalized = normalize_path(path);
  if (!normalized) return std::move(normalized).error();
  return current_names_.find(*normalized).has_value();
}

}  // namespace strand::sim
