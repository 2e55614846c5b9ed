#include "io/uv/uv_error.h"

#include <uv.h>

namespace strand::io::uv {

std::string_view describe(int status) { return uv_strerror(status); }

ErrorKind file_error_kind(int status) {
  switch (status) {
    case UV_ENOENT: return ErrorKind::kNotFound;
    case UV_EEXIST: return ErrorKind::kExists;
    case UV_ENOSPC: return ErrorKind::kNoSpace;
#ifdef EDQUOT
    case -EDQUOT: return ErrorKind::kNoSpace;  // a full quota looks like a full disk to its user
#endif
    default: return ErrorKind::kIoError;
  }
}

Error file_error(int status, std::string_view operation, std::string_view path) {
  return uv_error(file_error_kind(status), status, operation, path);
}

Error uv_error(ErrorKind kind, int status, std::string_view operation, std::string_view subject) {
  STRAND_ASSERT(status < 0, "an error comes from a failed status");
  std::string message(operation);
  message += ' ';
  message += subject;
  message += ": ";
  message += describe(status);
  return Error{kind, std::move(message)};
}

}  // namespace strand::io::uv
