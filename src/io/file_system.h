// Files exactly as storage needs them and the simulator can model them. Durability has exactly two
// doors: File::sync() makes a file's data durable, FileSystem::sync_dir() makes the names in a
// directory durable (creations, renames, removals). Anything not synced may vanish after a crash,
// and unsynced file data may also be torn at any 512-byte sector boundary. Code must assume so.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "io/result.h"
#include "io/task.h"

namespace strand::io {

enum class OpenMode : std::uint8_t {
  kReadOnly,   // must exist
  kReadWrite,  // must exist
  kCreate,     // read-write; created empty if missing
  kCreateNew,  // read-write; kExists if already there
  kTruncate,   // read-write; created if missing, emptied if present
};

// An open file with one owner. Positions are byte offsets from the start.
class File {
 public:
  virtual ~File() = default;

  // Reads up to target.size() bytes at `offset`. Returns the count; fewer than asked (including 0)
  // only at end of file. Errors: kIoError (a bad sector), kClosed.
  virtual Task<Result<std::size_t>> read_at(std::uint64_t offset, std::span<std::byte> target) = 0;

  // Reads up to `length` bytes at `offset` into a buffer it returns: shorter only at end of file.
  // The same as read_at() into a new buffer, but an implementation may hand over the buffer it
  // read into instead of copying it. Errors: as read_at().
  virtual Task<Result<std::vector<std::byte>>> read_bytes(std::uint64_t offset, std::size_t length);

  // Writes all of `bytes` at the end of the file. Readable at once, durable only after sync().
  // On error the file's size is unchanged. Errors: kNoSpace, kIoError, kClosed.
  virtual Task<Result<void>> append(std::span<const std::byte> bytes) = 0;

  // Writes all of `bytes` at `offset` (may extend the file). Durable only after sync().
  virtual Task<Result<void>> write_at(std::uint64_t offset, std::span<const std::byte> bytes) = 0;

  // Makes all data written so far durable (fdatasync). Errors: kIoError; after a failed sync the
  // state of unsynced data is unknown (as with Linux's fsync), so callers treat it as lost.
  virtual Task<Result<void>> sync() = 0;

  // Sets the size; shrinking drops the tail, growing adds zeros. Durable only after sync().
  virtual Task<Result<void>> truncate(std::uint64_t size_bytes) = 0;

  // The size including unsynced writes, as this owner last left it.
  virtual std::uint64_t size() const = 0;

  // Releases the handle. Unsynced data stays as unsynced as before. Idempotent.
  virtual Task<Result<void>> close() = 0;

  virtual const std::string& path() const = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Errors: kNotFound (missing file or parent directory), kExists (kCreateNew), kIoError.
  virtual Task<Result<std::unique_ptr<File>>> open(const std::string& path, OpenMode mode) = 0;

  // Replaces `to` atomically with `from`. Durable after sync_dir() of the parent(s).
  virtual Task<Result<void>> rename(const std::string& from, const std::string& to) = 0;

  // Removes a file or an empty directory. Durable after sync_dir() of the parent.
  virtual Task<Result<void>> remove(const std::string& path) = 0;

  // Names (not paths) of the entries in `directory`, sorted. Errors: kNotFound.
  virtual Task<Result<std::vector<std::string>>> list(const std::string& directory) = 0;

  // Creates `directory` and any missing parents; fine if it exists. Durable after sync_dir() of
  // each new directory's parent.
  virtual Task<Result<void>> make_dirs(const std::string& directory) = 0;

  // Makes the creations, renames and removals of entries in `directory` durable.
  virtual Task<Result<void>> sync_dir(const std::string& directory) = 0;

  // True if a file or directory is at `path`.
  virtual Task<Result<bool>> exists(const std::string& path) = 0;
};

// Parent directory of a path ("a/b/c" -> "a/b", "c" -> ".").
std::string parent_path(const std::string& path);
// Joins with one '/'.
std::string join_path(const std::string& directory, const std::string& name);

}  // namespace strand::io
