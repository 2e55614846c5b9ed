// The names on a simulated disk: which paths exist, and whether each is a file (with its inode)
// or a directory. A SimDisk keeps two of these, the durable names and the current names, and the
// ordered journal of NameOps that leads from the first to the second. Replaying any prefix of that
// journal on the durable names yields a state that really existed, which is what a crash keeps.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "io/result.h"

namespace strand::sim {

// Identifies a file's data independently of its name (rename moves the name, not the data).
using InodeId = std::uint64_t;

enum class EntryKind : std::uint8_t { kFile, kDirectory };

struct NameEntry {
  EntryKind kind = EntryKind::kFile;
  InodeId inode = 0;  // meaningful for files only

  friend bool operator==(const NameEntry&, const NameEntry&) = default;
};

// One change to the names, as the journal records it. Only operations that succeeded are recorded.
struct NameOp {
  enum class Kind : std::uint8_t { kCreateFile, kMakeDirectory, kRename, kRemove };

  Kind kind = Kind::kCreateFile;
  std::string path;   // the entry created or removed, or the rename's source
  std::string to;     // the rename's target; empty otherwise
  InodeId inode = 0;  // kCreateFile only
};

// The root directory. It always exists and can't be created, removed or renamed.
inline constexpr std::string_view kRootPath = ".";

// Normalises a path: "a//b/" and "./a/b" become "a/b"; "", "." and "/" become "."; a leading '/'
// is ignored (the simulated disk has one root). Errors: kInvalid for ".." components.
io::Result<std::string> normalize_path(std::string_view path);

// The parent of a normalised path: "a/b/c" -> "a/b", "a" -> ".". REQUIRES: path is not the root.
std::string parent_of(const std::string& normalized);

class SimNames {
 public:
  // The entry at a normalised path; the root is a directory. nullopt if nothing is there.
  std::optional<NameEntry> find(const std::string& path) const;
  bool is_directory(const std::string& path) const;
  // True if some entry lies below `directory`.
  bool has_children(const std::string& directory) const;
  // The names (last components) of the entries directly in `directory`, sorted.
  // REQUIRES: is_directory(directory).
  std::vector<std::string> children(const std::string& directory) const;

  // Whether `op` may be applied to this state; the error a file system would return otherwise
  // (kNotFound, kExists, kInvalid, or kIoError for a non-empty directory). Paths are normalised.
  io::Result<void> check(const NameOp& op) const;
  // Applies `op`. REQUIRES: check(op) succeeds; a rename onto an existing entry replaces it.
  void apply(const NameOp& op);

  // Every entry below the root, keyed by normalised path (so sorted, parents before children).
  const std::map<std::string, NameEntry>& entries() const { return entries_; }
  // Whether some file entry is `inode` (a file has one name at most: no hard links).
  bool names_file(InodeId inode) const { return file_inodes_.contains(inode); }

  friend bool operator==(const SimNames&, const SimNames&) = default;

 private:
  io::Result<void> check_parent(const std::string& path) const;
  io::Result<void> check_rename(const NameOp& op) const;
  void apply_rename(const std::string& from, const std::string& to);
  // Drops the inode of the file entry at `path` (if it is one) from file_inodes_.
  void forget_file(const std::string& path);

  std::map<std::string, NameEntry> entries_;
  // The inodes of the file entries, kept with them: a disk asks which inodes are still named on
  // every rename and remove.
  std::set<InodeId> file_inodes_;
};

}  // namespace strand::sim
