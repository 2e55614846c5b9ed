// Small files that must change all at once (checkpoints, Raft term and vote): write a temp file,
// sync it, rename it over the target, sync the directory. After a crash the file holds the old
// contents or the new, never a mix and never nothing (once it existed).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "io/file_system.h"

namespace strand::storage {

io::Task<io::Result<void>> write_file_atomically(io::FileSystem& fs, std::string path,
                                                 std::vector<std::byte> contents);

// The whole file, or nullopt if it does not exist. Errors: kIoError, kCorrupt (larger than
// bytes_max).
io::Task<io::Result<std::optional<std::vector<std::byte>>>> read_small_file(io::FileSystem& fs,
                                                                            std::string path,
                                                                            std::size_t bytes_max);

}  // namespace strand::storage
