#include "broker/protocol/init_producer_id.h"

#include <string>

#include "io/assert.h"

namespace strand::protocol {

namespace {

bool version_supported(std::int16_t version) {
  return version >= kInitProducerIdVersionMin && version <= kInitProducerIdVersionMax;
}

bool flexible(std::int16_t version) { return version >= 2; }

}  // namespace

InitProducerIdRequest read_init_producer_id_request(Reader& reader, std::int16_t version) {
  InitProducerIdRequest request;
  if (!version_supported(version)) {
    reader.fail("InitProducerId v" + std::to_string(version) + " is not implemented");
    return request;
  }
  request.transactional_id =
      flexible(version) ? reader.read_compact_nullable_string() : reader.read_nullable_string();
  request.transaction_timeout_ms = reader.read_i32();
  if (version >= 3) {
    request.producer_id = reader.read_i64();
    request.producer_epoch = reader.read_i16();
  }
  if (flexible(version)) (void)reader.read_tagged_fields();
  return request;
}

void write_init_producer_id_request(Writer& writer, const InitProducerIdRequest& request,
                                    std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "an InitProducerId version we implement");
  if (flexible(version)) {
    writer.write_compact_nullable_string(request.transactional_id);
  } else {
    writer.write_nullable_string(request.transactional_id);
  }
  writer.write_i32(request.transaction_timeout_ms);
  if (version >= 3) {
    writer.write_i64(request.producer_id);
    writer.write_i16(request.producer_epoch);
  }
  if (flexible(version)) writer.write_empty_tagged_fields();
}

void write_init_producer_id_response(Writer& writer, const InitProducerIdResponse& response,
                                     std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "an InitProducerId version we implement");
  writer.write_i32(response.throttle_time_ms);
  writer.write_i16(response.error_code);
  writer.write_i64(response.producer_id);
  writer.write_i16(response.producer_epoch);
  if (flexible(version)) writer.write_empty_tagged_fields();
}

InitProducerIdResponse read_init_producer_id_response(Reader& reader, std::int16_t version) {
  InitProducerIdResponse response;
  if (!version_supported(version)) {
    reader.fail("InitProducerId v" + std::to_string(version) + " is not implemented");
    return response;
  }
  response.throttle_time_ms = reader.read_i32();
  response.error_code = reader.read_i16();
  response.producer_id = reader.read_i64();
  response.producer_epoch = reader.read_i16();
  if (flexible(version)) (void)reader.read_tagged_fields();
  return response;
}

}  // namespace strand::protocol
