#include "broker/storage/atomic_file.h"

#include <memory>

namespace strand::storage {

io::Task<io::Result<void>> write_file_atomically(io::FileSystem& fs, std::string path,
                                                 std::vector<std::byte> contents) {
  const std::string temp = path + ".tmp";
  io::Result<std::unique_ptr<io::File>> opened = co_await fs.open(temp, io::OpenMode::kTruncate);
  if (!opened) co_return std::move(opened).error();
  io::File& file = **opened;
  io::Result<void> written = co_await file.append(contents);
  if (!written) co_return std::move(written).error();
  // Sync before rename: otherwise a crash could leave the new name pointing at empty data.
  io::Result<void> synced = co_await file.sync();
  if (!synced) co_return std::move(synced).error();
  io::Result<void> closed = co_await file.close();
  if (!closed) co_return std::move(closed).error();
  io::Result<void> renamed = co_await fs.rename(temp, path);
  if (!renamed) co_return std::move(renamed).error();
  io::Result<void> dir_synced = co_await fs.sync_dir(io::parent_path(path));
  if (!dir_synced) co_return std::move(dir_synced).error();
  co_return io::ok();
}

io::Task<io::Result<std::optional<std::vector<std::byte>>>> read_small_file(io::FileSystem& fs,
                                                                            std::string path,
                                                                            std::size_t bytes_max) {
  io::Result<std::unique_ptr<io::File>> opened = co_await fs.open(path, io::OpenMode::kReadOnly);
  if (!opened) {
    if (opened.error().kind == io::ErrorKind::kNotFound) {
      co_return std::optional<std::vector<std::byte>>{};
    }
    co_return std::move(opened).error();
  }
  io::File& file = **opened;
  if (file.size() > bytes_max) {
    co_return io::Error{io::ErrorKind::kCorrupt,
                        path + ": larger than " + std::to_string(bytes_max)};
  }
  std::vector<std::byte> contents(file.size());
  std::size_t filled = 0;
  for (std::size_t reads = 0; filled < contents.size(); ++reads) {
    STRAND_ASSERT(reads <= contents.size(), "each read makes progress");
    io::Result<std::size_t> got =
        co_await file.read_at(filled, std::span(contents).subspan(filled));
    if (!got) co_return std::move(got).error();
    if (*got == 0) break;  // shrank under us: return what is there
    filled += *got;
  }
  contents.resize(filled);
  io::Result<void> closed = co_await file.close();
  if (!closed) co_return std::move(closed).error();
  co_return std::optional<std::vector<std::byte>>{std::move(contents)};
}

}  // namespace strand::storage
