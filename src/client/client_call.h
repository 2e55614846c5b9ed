// Client::call_any, for the files that implement Client's requests: encode a request, send it to
// any broker, decode its answer.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "client/client.h"

namespace strand::client {

template <typename Request, typename Response>
io::Task<io::Result<Response>> Client::call_any(protocol::ApiKey key, std::int16_t version,
                                                const Request& request,
                                                void (*write)(protocol::Writer&, const Request&,
                                                              std::int16_t),
                                                Response (*read)(protocol::Reader&, std::int16_t)) {
  protocol::Writer writer;
  write(writer, request, version);
  io::Result<std::shared_ptr<KafkaConnection>> connection = co_await any_connection();
  if (!connection) co_return std::move(connection).error();
  std::vector<std::byte> request_body = writer.take();
  io::Result<std::vector<std::byte>> body =
      co_await call(*connection, key, version, std::move(request_body), options_.request_timeout);
  if (!body) co_return std::move(body).error();
  protocol::Reader reader(*body);
  Response response = read(reader, version);
  if (!reader.ok()) co_return reader.status().error();
  co_return std::move(response);
}

}  // namespace strand::client
