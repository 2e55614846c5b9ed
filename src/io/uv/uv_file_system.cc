#include "io/uv/uv_file_system.h"

#include <uv.h>

#include <algorithm>
#include <utility>

#include "io/uv/uv_error.h"
#include "io/uv/uv_file.h"
#include "io/uv/uv_fs_call.h"

namespace strand::io::uv {
namespace {

constexpr int kFileMode = 0644;
constexpr int kDirectoryMode = 0755;

int open_flags(OpenMode mode) {
  switch (mode) {
    case OpenMode::kReadOnly: return UV_FS_O_RDONLY;
    case OpenMode::kReadWrite: return UV_FS_O_RDWR;
    case OpenMode::kCreate: return UV_FS_O_RDWR | UV_FS_O_CREAT;
    case OpenMode::kCreateNew: return UV_FS_O_RDWR | UV_FS_O_CREAT | UV_FS_O_EXCL;
    case OpenMode::kTruncate: return UV_FS_O_RDWR | UV_FS_O_CREAT | UV_FS_O_TRUNC;
  }
  STRAND_ASSERT(false, "every OpenMode has flags");
  return UV_FS_O_RDONLY;
}

Result<void> status_of(const FsCall& call, std::string_view operation, const std::string& path) {
  if (call.result() < 0) return file_error(static_cast<int>(call.result()), operation, path);
  return ok();
}

bool is_directory(const uv_stat_t& stat) { return (stat.st_mode & S_IFMT) == S_IFDIR; }

}  // namespace

Task<Result<int>> UvFileSystem::open_descriptor(std::string path, int flags,
                                                std::string_view operation) {
  FsCall call;
  call.submitted(uv_fs_open(loop_, call.request(), path.c_str(), flags, kFileMode, fs_callback));
  co_await call;  // if this frame dies first, the callback closes the descriptor it got
  if (call.result() < 0) co_return file_error(static_cast<int>(call.result()), operation, path);
  co_return static_cast<int>(call.result());
}

Task<Result<std::unique_ptr<File>>> UvFileSystem::open(const std::string& path, OpenMode mode) {
  const std::string name = path;
  Result<int> opened = co_await open_descriptor(name, open_flags(mode), "open");
  if (!opened) co_return std::move(opened).error();
  // The UvFile owns the descriptor from here: an early return or a destroyed frame closes it.
  auto file = std::make_unique<UvFile>(std::make_shared<FileCore>(loop_, *opened, name), 0);
  Result<void> sized = co_await file->read_size();
  if (!sized) co_return std::move(sized).error();
  co_return std::unique_ptr<File>(std::move(file));
}

Task<Result<void>> UvFileSystem::rename(const std::string& from, const std::string& to) {
  const std::string source = from;
  const std::string target = to;
  FsCall call;
  call.submitted(uv_fs_rename(loop_, call.request(), source.c_str(), target.c_str(), fs_callback));
  co_await call;
  co_return status_of(call, "rename", source + " to " + target);
}

Task<Result<void>> UvFileSystem::remove(const std::string& path) {
  const std::string name = path;
  FsCall unlink;
  unlink.submitted(uv_fs_unlink(loop_, unlink.request(), name.c_str(), fs_callback));
  co_await unlink;
  // Linux says EISDIR for a directory, POSIX allows EPERM: either way, try it as a directory.
  if (unlink.result() != UV_EISDIR && unlink.result() != UV_EPERM) {
    co_return status_of(unlink, "remove", name);
  }
  FsCall rmdir;
  rmdir.submitted(uv_fs_rmdir(loop_, rmdir.request(), name.c_str(), fs_callback));
  co_await rmdir;
  co_return status_of(rmdir, "remove", name);
}

Task<Result<std::vector<std::string>>> UvFileSystem::list(const std::string& directory) {
  const std::string name = directory;
  FsCall call;
  call.submitted(uv_fs_scandir(loop_, call.request(), name.c_str(), 0, fs_callback));
  co_await call;
  Result<void> listed = status_of(call, "list", name);
  if (!listed) co_return std::move(listed).error();
  std::vector<std::string> names = std::move(call.names());
  std::sort(names.begin(), names.end());
  co_return names;
}

Task<Result<void>> UvFileSystem::make_dir(std::string path) {
  FsCall call;
  call.submitted(uv_fs_mkdir(loop_, call.request(), path.c_str(), kDirectoryMode, fs_callback));
  co_await call;
  if (call.result() == UV_EEXIST) co_return ok();  // checked to be a directory at the end
  co_return status_of(call, "make_dirs", path);
}

Task<Result<void>> UvFileSystem::make_dirs(const std::string& directory) {
  const std::string name = directory;
  // Each prefix ending before a '/' is a parent; bounded by the path's length.
  for (std::size_t slash = name.find('/', 1); slash != std::string::npos;
       slash = name.find('/', slash + 1)) {
    Result<void> made = co_await make_dir(name.substr(0, slash));
    if (!made) co_return std::move(made).error();
  }
  Result<void> made = co_await make_dir(name);
  if (!made) co_return std::move(made).error();
  FsCall call;
  call.submitted(uv_fs_stat(loop_, call.request(), name.c_str(), fs_callback));
  co_await call;
  Result<void> stated = status_of(call, "make_dirs", name);
  if (!stated) co_return std::move(stated).error();
  if (!is_directory(call.stat())) {
    co_return Error{ErrorKind::kExists, "make_dirs " + name + ": a file is in the way"};
  }
  co_return ok();
}

Task<Result<void>> UvFileSystem::sync_dir(const std::string& directory) {
  const std::string name = directory;
  Result<int> opened =
      co_await open_descriptor(name, UV_FS_O_RDONLY | UV_FS_O_DIRECTORY, "sync_dir");
  if (!opened) co_return std::move(opened).error();
  UvFile handle(std::make_shared<FileCore>(loop_, *opened, name), 0);
  Result<void> synced = co_await handle.sync_directory();
  Result<void> closed = co_await handle.close();
  if (!synced) co_return std::move(synced).error();
  co_return closed;
}

Task<Result<bool>> UvFileSystem::exists(const std::string& path) {
  const std::string name = path;
  FsCall call;
  call.submitted(uv_fs_stat(loop_, call.request(), name.c_str(), fs_callback));
  co_await call;
  if (call.result() == UV_ENOENT || call.result() == UV_ENOTDIR) co_return false;
  Result<void> stated = status_of(call, "exists", name);
  if (!stated) co_return std::move(stated).error();
  co_return true;
}

}  // namespace strand::io::uv
