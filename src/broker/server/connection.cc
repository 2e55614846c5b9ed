#include "broker/server/connection.h"

#include <spdlog/spdlog.h>

#include <array>

#include "broker/protocol/byte_order.h"
#include "io/task_scope.h"

namespace strand::server {

namespace {

// api_key, api_version, correlation_id and the client id's length: the least a request can be.
constexpr std::int32_t kRequestBytesMin = 10;

struct PendingResponse {
  HandlerResult result;
  std::int64_t request_bytes = 0;
  io::Event done;
};

struct ConnectionState {
  ConnectionState(io::Connection& connection_in, RequestHandler& handler_in,
                  ConnectionLimits limits_in)
      : connection(connection_in),
        handler(handler_in),
        limits(limits_in),
        queue(static_cast<std::size_t>(limits_in.inflight_requests_max)) {}

  io::Connection& connection;
  RequestHandler& handler;
  ConnectionLimits limits;
  ConnectionContext context;
  io::Channel<std::shared_ptr<PendingResponse>> queue;  // in request order
  std::int64_t inflight_bytes = 0;
  io::Condition budget_freed;
  bool write_failed = false;
  ConnectionStatus* status = nullptr;
};

io::Task<void> run_request(ConnectionState& state, std::shared_ptr<PendingResponse> pending,
                           protocol::RequestHeader header, std::vector<std::byte> frame,
                           std::size_t body_offset) {
  std::span<const std::byte> body = std::span<const std::byte>(frame).subspan(body_offset);
  HandlerResult result = co_await state.handler.handle(header, body, state.context);
  pending->result = std::move(result);
  pending->done.set();
}

io::Task<void> write_responses(ConnectionState& state) {
  for (;;) {
    std::optional<std::shared_ptr<PendingResponse>> next = co_await state.queue.receive();
    if (!next) break;
    std::shared_ptr<PendingResponse> pending = std::move(*next);
    if (!pending->done.is_set()) co_await pending->done.wait();
    if (pending->result.frame && !state.write_failed) {
      io::Result<void> written = co_await state.connection.write(*pending->result.frame);
      if (!written) {
        state.write_failed = true;
        state.connection.close();  // the reader stops too
      }
    }
    if (pending->result.close_connection && !state.write_failed) {
      spdlog::warn("closing connection from {}: an undecodable request or a refused acks=0 produce",
                   state.connection.peer().to_string());
      state.write_failed = true;
      state.connection.close();
    }
    state.inflight_bytes -= pending->request_bytes;
    if (state.status) state.status->requests_in_flight -= 1;
    state.budget_freed.notify_all();
  }
}

bool is_servable(const protocol::RequestHeader& header) {
  if (header.api_key == static_cast<std::int16_t>(protocol::ApiKey::kApiVersions)) return true;
  std::optional<protocol::ApiRange> range = protocol::find_api(header.api_key);
  return range && header.api_version >= range->min_version &&
         header.api_version <= range->max_version;
}

// Reads one frame and starts its handler. Returns false when the connection should end.
io::Task<bool> read_request(ConnectionState& state, io::TaskScope& tasks) {
  const std::string peer = state.connection.peer().to_string();
  std::array<std::byte, 4> size_bytes;
  io::Result<void> got_size = co_await io::read_exact(state.connection, size_bytes);
  if (!got_size) co_return false;  // closed between requests: the normal end
  const auto size = static_cast<std::int32_t>(protocol::load_be<std::uint32_t>(size_bytes.data()));
  if (size < kRequestBytesMin || size > state.limits.request_bytes_max) {
    spdlog::warn(
        "closing connection from {}: request frame of {} bytes (allowed {}..{}, "
        "socket.request.max.bytes)",
        peer, size, kRequestBytesMin, state.limits.request_bytes_max);
    co_return false;
  }
  // Backpressure: stop reading while the requests in flight hold the byte budget.
  for (std::uint64_t rounds = 0;
       state.inflight_bytes > 0 && state.inflight_bytes + size > state.limits.inflight_bytes_max;
       ++rounds) {
    STRAND_ASSERT(rounds < (1ull << 40), "responses free the budget");
    co_await state.budget_freed.wait();
  }
  std::vector<std::byte> frame(static_cast<std::size_t>(size));
  io::Result<void> got_frame = co_await io::read_exact(state.connection, frame);
  if (!got_frame) {
    spdlog::info("connection from {} ended inside a request: {}", peer,
                 got_frame.error().to_string());
    co_return false;
  }
  protocol::Reader reader(frame);
  protocol::RequestHeader header = protocol::read_request_header(reader);
  if (!reader.ok()) {
    spdlog::warn("closing connection from {}: unreadable request header: {}", peer,
                 reader.error_message());
    co_return false;
  }
  if (!is_servable(header)) {
    spdlog::warn("closing connection from {}: unsupported api key {} version {}", peer,
                 header.api_key, header.api_version);
    co_return false;
  }
  auto pending = std::make_shared<PendingResponse>();
  pending->request_bytes = size;
  state.inflight_bytes += size;
  if (state.status) state.status->requests_in_flight += 1;
  const bool queued = co_await state.queue.send(pending);
  if (!queued) {
    if (state.status) state.status->requests_in_flight -= 1;
    co_return false;
  }
  const std::size_t body_offset = frame.size() - reader.remaining();
  tasks.spawn(
      run_request(state, std::move(pending), std::move(header), std::move(frame), body_offset));
  co_return true;
}

}  // namespace

io::Task<void> serve_connection(io::Connection& connection, RequestHandler& handler,
                                ConnectionLimits limits, ConnectionStatus* status) {
  STRAND_ASSERT(limits.inflight_requests_max > 0 && limits.inflight_bytes_max > 0,
                "a connection can have a request in flight");
  ConnectionState state(connection, handler, limits);
  state.status = status;
  state.context.client_host = "/" + connection.peer().host;
  io::TaskScope tasks;
  tasks.spawn(write_responses(state));
  for (;;) {
    const bool more = co_await read_request(state, tasks);
    if (!more || state.write_failed) break;
  }
  // Requests already read are still answered, in order, unless the peer is gone.
  state.queue.close();
  co_await tasks.join();
  connection.close();
}

}  // namespace strand::server
