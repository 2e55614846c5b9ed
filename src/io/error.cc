#include <string>

#include "io/result.h"

namespace strand::io {

std::string_view error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kClosed: return "closed";
    case ErrorKind::kTimeout: return "timeout";
    case ErrorKind::kNoSpace: return "no_space";
    case ErrorKind::kIoError: return "io_error";
    case ErrorKind::kCorrupt: return "corrupt";
    case ErrorKind::kNotFound: return "not_found";
    case ErrorKind::kExists: return "exists";
    case ErrorKind::kCancelled: return "cancelled";
    case ErrorKind::kInvalid: return "invalid";
    case ErrorKind::kRefused: return "refused";
    case ErrorKind::kOutOfRange: return "out_of_range";
    case ErrorKind::kUnavailable: return "unavailable";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string text(error_kind_name(kind));
  text += ": ";
  text += message;
  return text;
}

Error with_context(Error error, std::string_view context) {
  std::string message(context);
  message += ": ";
  message += error.message;
  error.message = std::move(message);
  return error;
}

}  // namespace strand::io
