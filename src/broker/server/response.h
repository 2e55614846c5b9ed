// Small helpers the API handlers share: encode a response frame, give up on a body that does not
// decode.
#pragma once

#include <spdlog/spdlog.h>

#include "broker/server/request_handler.h"

namespace strand::server {

template <typename Message>
HandlerResult encode(const protocol::RequestHeader& header, const Message& message,
                     void (*write)(protocol::Writer&, const Message&, std::int16_t)) {
  protocol::Writer writer;
  const std::size_t at = begin_response(writer, header);
  write(writer, message, header.api_version);
  return HandlerResult{finish_response(writer, at), false};
}

// Kafka closes a connection whose request it cannot parse; the client reconnects and retries.
inline HandlerResult decode_failure(const protocol::RequestHeader& header,
                                    const protocol::Reader& body) {
  spdlog::warn("api key {} version {} from client '{}': undecodable body: {}", header.api_key,
               header.api_version, header.client_id.value_or(""), body.error_message());
  return HandlerResult{std::nullopt, true};
}

}  // namespace strand::server
