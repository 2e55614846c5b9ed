// Small coroutine helpers for the simulator's tests. Coroutines take pointers, never captures.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "io/env.h"
#include "io/network.h"
#include "io/result.h"
#include "io/task.h"

namespace strand::sim::test_support {

// A connected pair, and the listener that accepted it.
struct Pipe {
  std::unique_ptr<io::Listener> listener;
  std::unique_ptr<io::Connection> client;
  std::unique_ptr<io::Connection> server;
};

inline io::Task<io::Result<Pipe>> open_pipe(io::Env* client, io::Env* server, io::Address address) {
  Pipe pipe;
  io::Result<std::unique_ptr<io::Listener>> listening = server->net().listen(address);
  if (!listening) co_return std::move(listening).error();
  pipe.listener = std::move(*listening);
  io::Result<std::unique_ptr<io::Connection>> connected = co_await client->net().connect(address);
  if (!connected) co_return std::move(connected).error();
  pipe.client = std::move(*connected);
  io::Result<std::unique_ptr<io::Connection>> accepted = co_await pipe.listener->accept();
  if (!accepted) co_return std::move(accepted).error();
  pipe.server = std::move(*accepted);
  co_return pipe;
}

inline std::span<const std::byte> bytes_of(const std::string& text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

// Writes `data` in writes of at most `chunk_bytes`.
inline io::Task<io::Result<void>> write_all(io::Connection* connection, std::string data,
                                            std::size_t chunk_bytes) {
  for (std::size_t done = 0; done < data.size();) {
    const std::size_t count = std::min(chunk_bytes, data.size() - done);
    io::Result<void> written =
        co_await connection->write(bytes_of(data).subspan(done, count));
    if (!written) co_return std::move(written).error();
    done += count;
  }
  co_return io::ok();
}

// Reads exactly `count` bytes.
inline io::Task<io::Result<std::string>> read_n(io::Connection* connection, std::size_t count) {
  std::string data(count, '\0');
  io::Result<void> got =
      co_await io::read_exact(*connection, std::as_writable_bytes(std::span(data)));
  if (!got) co_return std::move(got).error();
  co_return data;
}

// Reads until an error, appending to *data; records the error in *end.
inline io::Task<void> read_until_error(io::Connection* connection, std::string* data,
                                       io::Error* end, bool* ended) {
  for (;;) {
    std::byte buffer[4096];
    io::Result<std::size_t> got = co_await connection->read_some(buffer);
    if (!got) {
      *end = std::move(got).error();
      *ended = true;
      co_return;
    }
    data->append(reinterpret_cast<const char*>(buffer), *got);
  }
}

// Deterministic bytes for payload checks.
inline std::string pattern(std::size_t count, std::uint64_t salt) {
  std::string data(count, '\0');
  std::uint64_t x = salt * 0x9e3779b97f4a7c15ull + 1;
  for (char& c : data) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x & 0xff);
  }
  return data;
}

}  // namespace strand::sim::test_support
