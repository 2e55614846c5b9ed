#include "io/file_system.h"

#include <string>

#include "io/assert.h"

namespace strand::io {

Task<Result<std::vector<std::byte>>> File::read_bytes(std::uint64_t offset, std::size_t length) {
  std::vector<std::byte> bytes(length);
  std::size_t filled = 0;
  for (std::uint64_t reads = 0; filled < length; ++reads) {
    STRAND_ASSERT(reads <= length, "each read makes progress");
    std::span<std::byte> rest = std::span<std::byte>(bytes).subspan(filled);
    Result<std::size_t> got = co_await read_at(offset + filled, rest);
    if (!got) co_return std::move(got).error();
    if (*got == 0) break;  // end of file
    filled += *got;
  }
  bytes.resize(filled);
  co_return std::move(bytes);
}

std::string parent_path(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  const std::size_t slash = trimmed.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return trimmed.substr(0, slash);
}

std::string join_path(const std::string& directory, const std::string& name) {
  if (directory.empty() || directory == ".") return name;
  if (directory.back() == '/') return directory + name;
  return directory + "/" + name;
}

}  // namespace strand::io
