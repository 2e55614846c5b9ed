// What the connection layer asks of the Kafka API layer: turn one request into one response.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "broker/protocol/api.h"
#include "broker/protocol/codec.h"
#include "io/sync.h"
#include "io/task.h"

namespace strand::server {

// Per-connection state handlers may use.
struct ConnectionContext {
  // Handlers hold this while they do work whose order must follow the request order on the
  // connection (issuing appends), and release it before waiting for durability, so pipelined
  // produce requests append in the order they were sent yet share one sync.
  io::Mutex ordering;
  // "/<address>" of the client, as Kafka shows it (DescribeGroups' client_host).
  std::string client_host;
  // The client named its software in ApiVersions (v3+, KIP-511): a client that recent knows
  // control batches and advances past their records (librdkafka, Java, franz-go). Others
  // (kafka-python) would hand those records to the application, so Fetch sends them the
  // headers of Raft's control batches only.
  bool reads_control_records = false;
};

struct HandlerResult {
  // The whole response frame (size prefix, response header, body), or nullopt when Kafka sends
  // no response (acks=0 produce, a request that could not be decoded).
  std::optional<std::vector<std::byte>> frame;
  // The request could not be decoded (or an acks=0 produce was refused, which is how Kafka tells
  // such a producer to refresh its metadata): the connection ends after the responses before it.
  bool close_connection = false;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;

  // Decodes the body that follows `header` and answers. The body bytes stay valid until the task
  // finishes. Never fails: errors become error codes, an undecodable body closes the connection.
  virtual io::Task<HandlerResult> handle(const protocol::RequestHeader& header,
                                         std::span<const std::byte> body,
                                         ConnectionContext& context) = 0;
};

// Starts a response frame: reserves the size prefix and writes the response header.
std::size_t begin_response(protocol::Writer& writer, const protocol::RequestHeader& header);
// Fills in the size prefix reserved by begin_response and returns the frame.
std::vector<std::byte> finish_response(protocol::Writer& writer, std::size_t size_position);

}  // namespace strand::server
