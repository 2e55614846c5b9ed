// Files and directories on a UvEnv, through libuv's thread pool. Errors map errno as
// ENOENT -> kNotFound, EEXIST -> kExists, ENOSPC -> kNoSpace, anything else -> kIoError, with
// messages naming the operation and the path: "open strand-data/x.log: no such file or directory".
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/file_system.h"

struct uv_loop_s;

namespace strand::io::uv {

class UvFileSystem final : public FileSystem {
 public:
  explicit UvFileSystem(uv_loop_s* loop) : loop_(loop) {}

  // Files are created with mode 0644 (less the umask). The size is read with fstat on open.
  Task<Result<std::unique_ptr<File>>> open(const std::string& path, OpenMode mode) override;
  Task<Result<void>> rename(const std::string& from, const std::string& to) override;
  // unlink, or rmdir when the path is a directory.
  Task<Result<void>> remove(const std::string& path) override;
  // Sorted; without "." and "..".
  Task<Result<std::vector<std::string>>> list(const std::string& directory) override;
  // Directories are created with mode 0755. Errors: kExists if the path is a file.
  Task<Result<void>> make_dirs(const std::string& directory) override;
  // Opens the directory, fsyncs it, closes it.
  Task<Result<void>> sync_dir(const std::string& directory) override;
  Task<Result<bool>> exists(const std::string& path) override;

 private:
  // The raw descriptor behind open(), for files and directories alike.
  Task<Result<int>> open_descriptor(std::string path, int flags, std::string_view operation);
  Task<Result<void>> make_dir(std::string path);

  uv_loop_s* loop_;
};

}  // namespace strand::io::uv
