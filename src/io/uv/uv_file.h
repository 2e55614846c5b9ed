// An open file on a UvEnv. Every operation runs on libuv's thread pool. Writes and truncations on
// one file run one at a time, in the order they were issued; reads and syncs overlap them.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "io/file_system.h"
#include "io/uv/uv_fs_call.h"

namespace strand::io::uv {

class UvFile final : public File {
 public:
  // Takes over `core`'s open descriptor; `size_bytes` is the file's size when it was opened.
  UvFile(std::shared_ptr<FileCore> core, std::uint64_t size_bytes);
  UvFile(const UvFile&) = delete;
  UvFile& operator=(const UvFile&) = delete;
  // Closes the descriptor in the background once no request uses it (never blocks, never fails
  // visibly). Unsynced data stays as unsynced as before.
  ~UvFile() override;

  // Short only at end of file: a short pread before it is retried.
  Task<Result<std::size_t>> read_at(std::uint64_t offset, std::span<std::byte> target) override;
  Task<Result<std::vector<std::byte>>> read_bytes(std::uint64_t offset,
                                                  std::size_t length) override;
  Task<Result<void>> append(std::span<const std::byte> bytes) override;
  Task<Result<void>> write_at(std::uint64_t offset, std::span<const std::byte> bytes) override;
  // fdatasync.
  Task<Result<void>> sync() override;
  Task<Result<void>> truncate(std::uint64_t size_bytes) override;
  std::uint64_t size() const override { return size_bytes_; }
  Task<Result<void>> close() override;
  const std::string& path() const override { return core_->path; }

  // Sets size() from fstat. UvFileSystem::open calls it once, before handing the file out.
  Task<Result<void>> read_size();
  // fsync of an open directory: makes its entries durable (FileSystem::sync_dir).
  Task<Result<void>> sync_directory();

 private:
  enum class Flush : std::uint8_t { kData, kDataAndMetadata };  // fdatasync, fsync

  // Waits until the file's earlier requests finished. Errors: kClosed once close() began.
  Task<Result<void>> wait_turn(std::string_view operation);
  Task<Result<void>> wait_write_turn(std::string_view operation);
  Task<Result<void>> write_fully(std::uint64_t offset, std::span<const std::byte> bytes,
                                 std::string_view operation);
  Task<Result<std::vector<std::byte>>> read_once(std::uint64_t offset, std::size_t length);
  Task<Result<void>> flush(std::string_view operation, Flush what);

  std::shared_ptr<FileCore> core_;
  std::uint64_t size_bytes_;
  bool closed_ = false;
};

}  // namespace strand::io::uv
