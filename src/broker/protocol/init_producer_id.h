// InitProducerId (key 22), versions 0-4 (flexible from v2): a producer asks for a producer id and
// epoch, for idempotent writes (and, with a transactional id, for transactions). v3 adds the id
// and epoch the producer already holds, so that it can ask for its epoch to be bumped (KIP-360).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "broker/protocol/codec.h"

namespace strand::protocol {

inline constexpr std::int16_t kInitProducerIdVersionMin = 0;
inline constexpr std::int16_t kInitProducerIdVersionMax = 4;

struct InitProducerIdRequest {
  std::optional<std::string> transactional_id;
  std::int32_t transaction_timeout_ms = 0;
  std::int64_t producer_id = -1;     // v3+
  std::int16_t producer_epoch = -1;  // v3+
  friend bool operator==(const InitProducerIdRequest&, const InitProducerIdRequest&) = default;
};

struct InitProducerIdResponse {
  std::int32_t throttle_time_ms = 0;
  std::int16_t error_code = 0;
  std::int64_t producer_id = -1;
  std::int16_t producer_epoch = -1;
  friend bool operator==(const InitProducerIdResponse&, const InitProducerIdResponse&) = default;
};

// Readers: a version outside 0-4 or truncation latch an error in `reader`; the returned value
// must not be used then.
InitProducerIdRequest read_init_producer_id_request(Reader& reader, std::int16_t version);
InitProducerIdResponse read_init_producer_id_response(Reader& reader, std::int16_t version);

// Writers: REQUIRES 0 <= version <= 4.
void write_init_producer_id_request(Writer& writer, const InitProducerIdRequest& request,
                                    std::int16_t version);
void write_init_producer_id_response(Writer& writer, const InitProducerIdResponse& response,
                                     std::int16_t version);

}  // namespace strand::protocol
