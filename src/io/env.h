// Everything a broker can observe about the world comes through one Env per node. Nothing in
// src/broker or src/client reaches the OS any other way; that is what lets the same broker code
// run on libuv in production and inside the deterministic simulator.
#pragma once

#include "io/clock.h"
#include "io/executor.h"
#include "io/file_system.h"
#include "io/network.h"
#include "io/random.h"

namespace strand::io {

class Env {
 public:
  virtual ~Env() = default;
  virtual Clock& clock() = 0;
  virtual Network& net() = 0;
  virtual FileSystem& fs() = 0;
  virtual Random& rng() = 0;
  virtual Executor& executor() = 0;
};

}  // namespace strand::io
