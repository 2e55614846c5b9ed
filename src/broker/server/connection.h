// One client connection: reads size-prefixed request frames, hands each to the RequestHandler as
// soon as it arrives (so pipelined requests overlap), and writes the responses strictly in
// request order. Reading stops while the requests in flight reach their count or byte budget;
// that is the backpressure a fast producer feels.
#pragma once

#include <cstdint>
#include <memory>

#include "broker/server/request_handler.h"
#include "io/network.h"

namespace strand::server {

struct ConnectionLimits {
  std::int32_t request_bytes_max = 100 * 1024 * 1024;  // socket.request.max.bytes
  std::int32_t inflight_requests_max = 64;
  std::int64_t inflight_bytes_max = 64ll << 20;
};

// What the server can see of a connection being served.
struct ConnectionStatus {
  std::uint32_t requests_in_flight = 0;  // read and not yet answered
};

// Serves `connection` until the peer closes it, it sends a frame that cannot be a request, or
// close() is called on it from outside. Each failure is one log line; nothing throws. `status`
// (may be null) is kept up to date until this returns.
io::Task<void> serve_connection(io::Connection& connection, RequestHandler& handler,
                                ConnectionLimits limits, ConnectionStatus* status);

}  // namespace strand::server
