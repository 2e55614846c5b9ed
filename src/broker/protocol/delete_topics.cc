#include "broker/protocol/delete_topics.h"

#include <optional>
#include <string>

namespace strand::protocol {

namespace {

constexpr std::size_t kNameBytesMin = 2;        // an empty string's length
constexpr std::size_t kResultBytesMin = 2 + 2;  // name, error_code

bool version_supported(std::int16_t version) {
  return version >= kDeleteTopicsVersionMin && version <= kDeleteTopicsVersionMax;
}

bool refuse_version(Reader& reader, std::int16_t version) {
  if (version_supported(version)) return false;
  reader.fail("DeleteTopics v" + std::to_string(version) + " is not implemented");
  return true;
}

}  // namespace

DeleteTopicsRequest read_delete_topics_request(Reader& reader, std::int16_t version) {
  DeleteTopicsRequest request;
  if (refuse_version(reader, version)) return request;
  const std::int32_t names = reader.read_required_array_length(kNameBytesMin, "topic_names");
  for (std::int32_t i = 0; i < names && reader.ok(); ++i) {
    request.topic_names.push_back(reader.read_string());
  }
  request.timeout_ms = reader.read_i32();
  return request;
}

void write_delete_topics_request(Writer& writer, const DeleteTopicsRequest& request,
                                 std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a DeleteTopics version we implement");
  writer.write_array_length(static_cast<std::int32_t>(request.topic_names.size()));
  for (const std::string& name : request.topic_names) writer.write_string(name);
  writer.write_i32(request.timeout_ms);
}

void write_delete_topics_response(Writer& writer, const DeleteTopicsResponse& response,
                                  std::int16_t version) {
  STRAND_ASSERT(version_supported(version), "a DeleteTopics version we implement");
  if (version >= 1) writer.write_i32(response.throttle_time_ms);
  writer.write_array_length(static_cast<std::int32_t>(response.responses.size()));
  for (const DeletableTopicResult& result : response.responses) {
    writer.write_string(result.name);
    writer.write_i16(result.error_code);
  }
}

DeleteTopicsResponse read_delete_topics_response(Reader& reader, std::int16_t version) {
  DeleteTopicsResponse response;
  if (refuse_version(reader, version)) return response;
  if (version >= 1) response.throttle_time_ms = reader.read_i32();
  const std::int32_t results = reader.read_required_array_length(kResultBytesMin, "responses");
  for (std::int32_t i = 0; i < results && reader.ok(); ++i) {
    DeletableTopicResult result;
    result.name = reader.read_string();
    result.error_code = reader.read_i16();
    response.responses.push_back(std::move(result));
  }
  return response;
}

}  // namespace strand::protocol
