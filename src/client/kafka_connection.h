// One connection from a client to a Kafka broker, on io::Env: requests go out with increasing
// correlation ids, many may be in flight, and each caller gets the body of its own response. The
// simulator's clients, the strand CLI and the tests use it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/protocol/api.h"
#include "broker/protocol/codec.h"
#include "io/env.h"
#include "io/sync.h"
#include "io/task_scope.h"

namespace strand::client {

// A response body is at most this large; a broker claiming more is treated as broken.
inline constexpr std::int32_t kResponseBytesMax = 256 << 20;

class KafkaConnection {
 public:
  // Errors: kRefused, kTimeout, kInvalid (as io::Network::connect).
  static io::Task<io::Result<std::unique_ptr<KafkaConnection>>> connect(io::Env& env,
                                                                        io::Address address,
                                                                        std::string client_id);
  ~KafkaConnection();
  KafkaConnection(const KafkaConnection&) = delete;
  KafkaConnection& operator=(const KafkaConnection&) = delete;

  // Sends a request whose body is `body` (encoded at `version`) and returns the response body
  // (after the response header). Errors: kClosed (the connection ended first; the request may or
  // may not have been processed), kCorrupt (a response that does not parse).
  io::Task<io::Result<std::vector<std::byte>>> call(protocol::ApiKey key, std::int16_t version,
                                                    std::vector<std::byte> body);

  // Sends a request that gets no response (Produce with acks=0).
  io::Task<io::Result<void>> send(protocol::ApiKey key, std::int16_t version,
                                  std::vector<std::byte> body);

  // Ends the connection; calls in flight complete with kClosed.
  void close();
  bool closed() const { return closed_; }
  const io::Address& address() const { return address_; }

 private:
  struct Call {
    bool flexible_response = false;
    std::optional<io::Result<std::vector<std::byte>>> result;
    io::Event done;
  };

  KafkaConnection(io::Env& env, std::unique_ptr<io::Connection> connection, io::Address address,
                  std::string client_id);
  io::Task<io::Result<std::int32_t>> write_request(protocol::ApiKey key, std::int16_t version,
                                                   const std::vector<std::byte>& body);
  io::Task<void> read_responses();
  void complete(std::shared_ptr<Call> call, io::Result<std::vector<std::byte>> result);
  void fail_all(const io::Error& error);

  io::Env& env_;
  std::unique_ptr<io::Connection> connection_;
  io::Address address_;
  std::string client_id_;
  std::int32_t next_correlation_id_ = 1;
  std::map<std::int32_t, std::shared_ptr<Call>> calls_;  // waiting for their responses
  io::Mutex writing_;                                    // one frame at a time on the wire
  bool closed_ = false;
  io::TaskScope reader_;  // last: destroyed first
};

}  // namespace strand::client
