// Stream connections between nodes (TCP on libuv; a modelled TCP in the simulator). Bytes arrive
// in order and intact or not at all; faults show up as delay, as kClosed (reset, peer gone) or as
// kTimeout, never as reordered or altered bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "io/result.h"
#include "io/task.h"

namespace strand::io {

struct Address {
  std::string host;  // an IPv4/IPv6 literal on libuv; a node's name or address in the simulator
  std::uint16_t port = 0;

  std::string to_string() const;
  friend bool operator==(const Address&, const Address&) = default;
};

// "host:port" (IPv6 as "[::1]:9092"). Errors: kInvalid with the reason.
Result<Address> parse_address(std::string_view text);

// One end of a stream. One owner; reads and writes may be in flight at the same time (one of each).
class Connection {
 public:
  virtual ~Connection() = default;

  // Waits for at least one byte and fills `target` with up to target.size() bytes. Returns the
  // count (> 0). Errors: kClosed when the peer closed or reset (after everything it sent was
  // read), or when close() was called.
  virtual Task<Result<std::size_t>> read_some(std::span<std::byte> target) = 0;

  // Queues all of `bytes` for sending; the span may be reused when this completes. Completion
  // means the bytes were handed to the transport, not that the peer read them. Parks while the
  // transport's send buffer is full (backpressure). Errors: kClosed.
  virtual Task<Result<void>> write(std::span<const std::byte> bytes) = 0;

  // Closes both directions now; pending reads and writes complete with kClosed. Idempotent.
  virtual void close() = 0;

  virtual const Address& peer() const = 0;
};

// Reads exactly target.size() bytes (a frame body, a fixed header). Errors as read_some.
Task<Result<void>> read_exact(Connection& connection, std::span<std::byte> target);

class Listener {
 public:
  virtual ~Listener() = default;
  // Waits for the next inbound connection. Errors: kClosed once close() was called.
  virtual Task<Result<std::unique_ptr<Connection>>> accept() = 0;
  // Stops accepting; a parked accept() completes with kClosed. Idempotent.
  virtual void close() = 0;
  // The bound address (with the real port when listening on port 0).
  virtual Address address() const = 0;
};

class Network {
 public:
  virtual ~Network() = default;
  // Binds and listens at once, so a connect() that starts after this returns finds the listener.
  // Errors: kExists (address in use), kInvalid.
  virtual Result<std::unique_ptr<Listener>> listen(const Address& address) = 0;
  // Errors: kRefused (nobody listening, or unreachable), kTimeout, kInvalid.
  virtual Task<Result<std::unique_ptr<Connection>>> connect(const Address& address) = 0;
};

}  // namespace strand::io
