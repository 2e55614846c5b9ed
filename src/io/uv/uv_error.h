// Turning libuv status codes (negative errno values) into io::Error. Messages name the operation
// and its subject first, then libuv's reason: "open strand-data/x.log: no such file or directory".
#pragma once

#include <string>
#include <string_view>

#include "io/result.h"

namespace strand::io::uv {

// libuv's lower-case description of `status` ("connection refused").
std::string_view describe(int status);

// ENOENT -> kNotFound, EEXIST -> kExists, ENOSPC/EDQUOT -> kNoSpace, anything else -> kIoError.
ErrorKind file_error_kind(int status);

// "<operation> <path>: <reason>" with file_error_kind(status). REQUIRES: status < 0.
Error file_error(int status, std::string_view operation, std::string_view path);

// "<operation> <subject>: <reason>" with the given kind. REQUIRES: status < 0.
Error uv_error(ErrorKind kind, int status, std::string_view operation, std::string_view subject);

}  // namespace strand::io::uv
