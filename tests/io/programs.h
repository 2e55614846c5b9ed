// Test programs written only against io::Env. The same programs run unchanged on the libuv
// implementation (tests/io/uv_env_test.cc) and in the simulator (tests/sim/sim_env_test.cc);
// that is the proof that broker code written this way runs on both.
#pragma once

#include <cstdint>
#include <string>

#include "io/env.h"

namespace strand::testing {

struct EchoOptions {
  io::Address address;            // where the server listens
  std::uint32_t clients_count = 8;
  std::uint32_t frames_per_client = 50;
  std::uint32_t frame_bytes_max = 4096;
  std::uint64_t seed = 1;         // frame sizes and contents
};

struct EchoReport {
  std::uint64_t frames_echoed = 0;
  std::uint64_t bytes_echoed = 0;
  std::uint64_t mismatches = 0;   // frames that came back different: must be 0
};

// A framed echo server on `server` ([u32 little-endian length][payload], echoed back as is), and
// clients_count concurrent clients on `client` that each send frames_per_client frames and check
// every echo byte for byte. The two Envs may be the same object. Completes when all clients are
// done; the server's tasks live in server.executor().root() and end when their peers close.
io::Task<io::Result<EchoReport>> run_framed_echo(io::Env& server, io::Env& client,
                                                 EchoOptions options);

struct FileWriterOptions {
  std::string directory;          // created if missing
  std::uint32_t records_count = 200;
  std::uint32_t record_bytes_max = 1000;
  std::uint64_t seed = 1;
};

// Appends records, syncs, closes, reopens and reads everything back; checks write_at, truncate,
// rename + sync_dir, list, remove, and that bad paths come back as errors. Returns the bytes
// verified, or the first failure as an error naming what differed.
io::Task<io::Result<std::uint64_t>> run_file_writer(io::Env& env, FileWriterOptions options);

// The deterministic contents of record `index` under `seed` (also used by crash tests to tell which
// records survived).
std::string make_record(std::uint64_t seed, std::uint32_t index, std::uint32_t bytes_max);

}  // namespace strand::testing
