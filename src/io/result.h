// Errors as values. Every operation that can fail at run time (I/O, bad input, timeouts) returns
// io::Result<T>; the caller decides. Exceptions are never thrown across module boundaries.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "io/assert.h"

namespace strand::io {

// Few kinds; the message carries the detail (which file, which offset, which peer). A kind is
// added only when some caller reacts to it differently.
// The values travel in inter-broker RPC error answers: append new kinds at the end.
enum class ErrorKind : std::uint8_t {
  kClosed,       // the connection or file was closed, or the peer reset it
  kTimeout,      // a wait ran past its deadline
  kNoSpace,      // the disk is full (ENOSPC)
  kIoError,      // the device failed (EIO and everything not listed here)
  kCorrupt,      // data failed a check (CRC, length, magic)
  kNotFound,     // no such file, directory or address
  kExists,       // the file or address is already there
  kCancelled,    // the operation's scope was cancelled
  kInvalid,      // the arguments were not acceptable (a bad path, a bad address)
  kRefused,      // nobody listens at the address, or the peer is unreachable
  kOutOfRange,   // an offset or position outside what exists (Kafka's OFFSET_OUT_OF_RANGE)
  kUnavailable,  // not served here now (another node leads it): retry, after asking who does
};

std::string_view error_kind_name(ErrorKind kind);

struct Error {
  ErrorKind kind;
  std::string message;

  // "io_error: <message>": for logs and for the one-line errors users see.
  std::string to_string() const;
};

// Prefixes the message with where it happened: with_context(e, "segment 00042.log").
Error with_context(Error error, std::string_view context);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    STRAND_ASSERT(ok(), "value() of a failed Result");
    return std::get<0>(state_);
  }
  const T& value() const& {
    STRAND_ASSERT(ok(), "value() of a failed Result");
    return std::get<0>(state_);
  }
  T&& value() && {
    STRAND_ASSERT(ok(), "value() of a failed Result");
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    STRAND_ASSERT(!ok(), "error() of a successful Result");
    return std::get<1>(state_);
  }
  Error&& error() && {
    STRAND_ASSERT(!ok(), "error() of a successful Result");
    return std::get<1>(std::move(state_));
  }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  void value() const { STRAND_ASSERT(ok_, "value() of a failed Result"); }

  const Error& error() const& {
    STRAND_ASSERT(!ok_, "error() of a successful Result");
    return error_;
  }
  Error&& error() && {
    STRAND_ASSERT(!ok_, "error() of a successful Result");
    return std::move(error_);
  }

 private:
  Error error_{ErrorKind::kIoError, {}};
  bool ok_ = true;
};

inline Result<void> ok() { return {}; }

}  // namespace strand::io
