// Bytes a connection received but nobody has read yet: one contiguous window [head, tail) of a
// single allocation, filled at the tail by the socket and drained at the head by read_some().
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace strand::io::uv {

class ReceiveBuffer {
 public:
  std::size_t size() const { return tail_ - head_; }
  bool empty() const { return tail_ == head_; }

  // Room for at least `bytes_min` bytes at the tail, moving the unread bytes to the front or
  // growing the storage if needed. Fill a prefix of it, then commit() that many bytes.
  std::span<std::byte> prepare(std::size_t bytes_min);
  // REQUIRES: bytes <= the size of the last prepare() span.
  void commit(std::size_t bytes);
  // Moves up to target.size() unread bytes into `target`; returns how many.
  std::size_t take(std::span<std::byte> target);

 private:
  std::vector<std::byte> storage_;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
};

}  // namespace strand::io::uv
