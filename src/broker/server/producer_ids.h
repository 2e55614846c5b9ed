// Producer ids for InitProducerId, unique across a cluster and across restarts without asking the
// controller: the broker's node id in the high bits and a counter in the low 40 bits, reserved on
// disk a block at a time (<data_dir>/producer-ids holds the end of the reserved block; a crash
// skips at most the rest of a block). Node ids go up to 2^22, so ids stay positive.
#pragma once

#include <cstdint>
#include <string>

#include "io/env.h"
#include "io/sync.h"

namespace strand::server {

class ProducerIds {
 public:
  ProducerIds(io::Env& env, std::string data_dir, std::int32_t node_id);

  // A fresh producer id. Errors: the disk's (the reservation could not be made durable), kInvalid
  // for a node id too large or a counter used up, kCorrupt for a damaged reservation file.
  io::Task<io::Result<std::int64_t>> next();

 private:
  io::Task<io::Result<void>> reserve();

  io::Env& env_;
  std::string path_;
  std::int32_t node_id_;
  io::Mutex reserving_;
  bool loaded_ = false;
  std::int64_t next_ = 0;          // the next counter value to hand out
  std::int64_t reserved_end_ = 0;  // the counter values below this are reserved on disk
};

}  // namespace strand::server
