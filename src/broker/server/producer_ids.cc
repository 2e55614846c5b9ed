#include "broker/server/producer_ids.h"

#include <charconv>
#include <string_view>
#include <vector>

#include "broker/storage/atomic_file.h"
#include "io/file_system.h"

namespace strand::server {

namespace {

constexpr int kCounterBits = 40;
constexpr std::int64_t kCounterMax = (std::int64_t{1} << kCounterBits) - 1;
constexpr std::int32_t kNodeIdMax = (1 << 22) - 1;
constexpr std::int64_t kBlock = 1000;
constexpr std::size_t kFileBytesMax = 64;

}  // namespace

ProducerIds::ProducerIds(io::Env& env, std::string data_dir, std::int32_t node_id)
    : env_(env), path_(io::join_path(data_dir, "producer-ids")), node_id_(node_id) {}

io::Task<io::Result<std::int64_t>> ProducerIds::next() {
  if (node_id_ < 0 || node_id_ > kNodeIdMax) {
    co_return io::Error{io::ErrorKind::kInvalid,
                        "node.id " + std::to_string(node_id_) + " is too large for producer ids"};
  }
  io::Mutex::Guard guard = co_await reserving_.lock();
  if (!loaded_ || next_ >= reserved_end_) {
    io::Result<void> reserved = co_await reserve();
    if (!reserved) co_return std::move(reserved).error();
  }
  const std::int64_t id = (std::int64_t{node_id_} << kCounterBits) | next_;
  next_ += 1;
  co_return id;
}

// Reads the last reservation (once), then makes the next block durable before handing it out.
io::Task<io::Result<void>> ProducerIds::reserve() {
  if (!loaded_) {
    io::Result<std::optional<std::vector<std::byte>>> stored =
        co_await storage::read_small_file(env_.fs(), path_, kFileBytesMax);
    if (!stored) co_return std::move(stored).error();
    std::int64_t end = 0;
    if (*stored) {
      const std::string_view text(reinterpret_cast<const char*>((*stored)->data()),
                                  (*stored)->size());
      auto [rest, error] = std::from_chars(text.data(), text.data() + text.size(), end);
      if (error != std::errc{} || rest != text.data() + text.size() || end < 0) {
        co_return io::Error{io::ErrorKind::kCorrupt, path_ + " does not hold a counter"};
      }
    }
    next_ = end;
    reserved_end_ = end;
    loaded_ = true;
  }
  const std::int64_t end = next_ + kBlock;
  if (end > kCounterMax) {
    co_return io::Error{io::ErrorKind::kInvalid, "this broker's producer ids are used up"};
  }
  const std::string text = std::to_string(end);
  std::vector<std::byte> contents(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) contents[i] = static_cast<std::byte>(text[i]);
  io::Result<void> written =
      co_await storage::write_file_atomically(env_.fs(), path_, std::move(contents));
  if (!written) co_return written;
  reserved_end_ = end;
  co_return io::ok();
}

}  // namespace strand::server
