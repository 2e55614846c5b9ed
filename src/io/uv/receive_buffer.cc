#include "io/uv/receive_buffer.h"

#include <algorithm>
#include <cstring>

#include "io/assert.h"

namespace strand::io::uv {

std::span<std::byte> ReceiveBuffer::prepare(std::size_t bytes_min) {
  if (storage_.size() - tail_ < bytes_min && head_ > 0) {
    const std::size_t unread = size();
    std::memmove(storage_.data(), storage_.data() + head_, unread);
    head_ = 0;
    tail_ = unread;
  }
  if (storage_.size() - tail_ < bytes_min) storage_.resize(tail_ + bytes_min);
  return std::span(storage_).subspan(tail_);
}

void ReceiveBuffer::commit(std::size_t bytes) {
  STRAND_ASSERT(bytes <= storage_.size() - tail_, "commit within the prepared room");
  tail_ += bytes;
}

std::size_t ReceiveBuffer::take(std::span<std::byte> target) {
  const std::size_t count = std::min(target.size(), size());
  if (count == 0) return 0;
  std::memcpy(target.data(), storage_.data() + head_, count);
  head_ += count;
  if (head_ == tail_) head_ = tail_ = 0;  // empty again: refill from the front, no move needed
  return count;
}

}  // namespace strand::io::uv
