#include "broker/raft/message_codec.h"

#include <cstring>
#include <string>
#include <type_traits>

#include "broker/raft/control_batch.h"
#include "broker/raft/raft_messages_generated.h"

namespace strand::raft {

namespace {

namespace wire = strand::raft::fb;
using Builder = flatbuffers::FlatBufferBuilder;

io::Error corrupt(std::string message) {
  return io::Error{io::ErrorKind::kCorrupt, "raft message: " + std::move(message)};
}

flatbuffers::Offset<wire::Configuration> encode_configuration(Builder& builder,
                                                              const Configuration& config) {
  auto voters = builder.CreateVector(config.voters);
  auto learners = builder.CreateVector(config.learners);
  return wire::CreateConfiguration(builder, voters, learners);
}

flatbuffers::Offset<wire::AppendRequest> encode_append(Builder& builder,
                                                       const AppendRequest& request) {
  flatbuffers::Offset<wire::Configuration> configuration;
  if (request.log_start_configuration) {
    configuration = encode_configuration(builder, *request.log_start_configuration);
  }
  std::size_t bytes = 0;
  for (const Entry& entry : request.entries) bytes += entry.payload.size();
  std::uint8_t* out = nullptr;
  auto entries = builder.CreateUninitializedVector(bytes, &out);
  for (const Entry& entry : request.entries) {
    STRAND_ASSERT(!entry.payload.empty(), "appended entries carry their stored batch");
    std::memcpy(out, entry.payload.data(), entry.payload.size());
    out += entry.payload.size();
  }
  return wire::CreateAppendRequest(builder, request.prev_offset, request.prev_term,
                                   request.leader_commit, request.log_start_offset, configuration,
                                   entries);
}

// The body's union type and table.
std::pair<wire::Body, flatbuffers::Offset<void>> encode_body(Builder& builder,
                                                             const MessageBody& body) {
  if (const auto* m = std::get_if<VoteRequest>(&body)) {
    return {wire::Body::VoteRequest,
            wire::CreateVoteRequest(builder, m->pre_vote, m->transfer, m->last_offset, m->last_term)
                .Union()};
  }
  if (const auto* m = std::get_if<VoteResponse>(&body)) {
    return {wire::Body::VoteResponse,
            wire::CreateVoteResponse(builder, m->pre_vote, m->granted).Union()};
  }
  if (const auto* m = std::get_if<AppendRequest>(&body)) {
    return {wire::Body::AppendRequest, encode_append(builder, *m).Union()};
  }
  if (const auto* m = std::get_if<AppendResponse>(&body)) {
    return {wire::Body::AppendResponse,
            wire::CreateAppendResponse(builder, m->success, m->last_offset, m->rejected_prev_offset,
                                       m->hint_offset, m->hint_term)
                .Union()};
  }
  if (const auto* m = std::get_if<HeartbeatRequest>(&body)) {
    return {wire::Body::HeartbeatRequest,
            wire::CreateHeartbeatRequest(builder, m->commit_offset, m->match_offset).Union()};
  }
  if (const auto* m = std::get_if<HeartbeatResponse>(&body)) {
    return {wire::Body::HeartbeatResponse,
            wire::CreateHeartbeatResponse(builder, m->last_offset, m->lost_entries).Union()};
  }
  STRAND_ASSERT(std::holds_alternative<TimeoutNow>(body), "every message kind is encoded");
  return {wire::Body::TimeoutNow, wire::CreateTimeoutNow(builder).Union()};
}

std::vector<NodeId> ids_of(const flatbuffers::Vector<std::int32_t>* ids) {
  if (ids == nullptr) return {};
  return std::vector<NodeId>(ids->begin(), ids->end());
}

io::Result<AppendRequest> decode_append(const wire::AppendRequest& in) {
  AppendRequest out{
      in.prev_offset(), in.prev_term(), in.leader_commit(), in.log_start_offset(), {}, {}};
  if (const wire::Configuration* config = in.log_start_configuration()) {
    Configuration decoded{ids_of(config->voters()), ids_of(config->learners())};
    if (!decoded.valid()) return corrupt("invalid log start configuration");
    out.log_start_configuration = std::move(decoded);
  }
  if (const auto* entries = in.entries()) {
    const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(entries->data()),
                                           entries->size());
    io::Result<std::vector<Entry>> decoded = entries_from_batches(bytes, kAppendEntriesLimit);
    if (!decoded) return corrupt("entries: " + decoded.error().message);
    out.entries = std::move(*decoded);
  }
  return out;
}

io::Result<MessageBody> decode_body(const wire::Message& in) {
  // The verifier accepts a union type whose table is absent.
  if (in.body() == nullptr) return corrupt("a message without its body");
  switch (in.body_type()) {
    case wire::Body::VoteRequest: {
      const wire::VoteRequest& m = *in.body_as_VoteRequest();
      return MessageBody{VoteRequest{m.pre_vote(), m.transfer(), m.last_offset(), m.last_term()}};
    }
    case wire::Body::VoteResponse: {
      const wire::VoteResponse& m = *in.body_as_VoteResponse();
      return MessageBody{VoteResponse{m.pre_vote(), m.granted()}};
    }
    case wire::Body::AppendRequest: {
      io::Result<AppendRequest> append = decode_append(*in.body_as_AppendRequest());
      if (!append) return std::move(append).error();
      return MessageBody{std::move(*append)};
    }
    case wire::Body::AppendResponse: {
      const wire::AppendResponse& m = *in.body_as_AppendResponse();
      return MessageBody{AppendResponse{m.success(), m.last_offset(), m.rejected_prev_offset(),
                                        m.hint_offset(), m.hint_term()}};
    }
    case wire::Body::HeartbeatRequest: {
      const wire::HeartbeatRequest& m = *in.body_as_HeartbeatRequest();
      return MessageBody{HeartbeatRequest{m.commit_offset(), m.match_offset()}};
    }
    case wire::Body::HeartbeatResponse:
      return MessageBody{HeartbeatResponse{in.body_as_HeartbeatResponse()->last_offset(),
                                           in.body_as_HeartbeatResponse()->lost_entries()}};
    case wire::Body::TimeoutNow:
      return MessageBody{TimeoutNow{}};
    default:
      return corrupt("unknown or missing body");
  }
}

}  // namespace

std::vector<std::byte> encode_messages(std::span<const GroupMessage> messages) {
  STRAND_ASSERT(messages.size() <= kBatchMessagesMax, "the caller splits large batches");
  Builder builder;
  std::vector<flatbuffers::Offset<wire::Message>> encoded;
  encoded.reserve(messages.size());
  for (const GroupMessage& item : messages) {
    const Message& m = item.message;
    auto [type, body] = encode_body(builder, m.body);
    encoded.push_back(wire::CreateMessage(builder, item.group, m.from, m.to, m.term, type, body));
  }
  auto vector = builder.CreateVector(encoded);
  builder.Finish(wire::CreateMessageBatch(builder, vector));
  const auto* data = reinterpret_cast<const std::byte*>(builder.GetBufferPointer());
  return std::vector<std::byte>(data, data + builder.GetSize());
}

io::Result<std::vector<GroupMessage>> decode_messages(std::span<const std::byte> payload) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(payload.data());
  flatbuffers::Verifier verifier(data, payload.size());
  if (!wire::VerifyMessageBatchBuffer(verifier)) return corrupt("does not verify");
  const wire::MessageBatch* batch = wire::GetMessageBatch(data);
  std::vector<GroupMessage> out;
  if (batch->messages() == nullptr) return out;
  if (batch->messages()->size() > kBatchMessagesMax) return corrupt("too many messages");
  out.reserve(batch->messages()->size());
  for (const wire::Message* in : *batch->messages()) {
    io::Result<MessageBody> body = decode_body(*in);
    if (!body) return std::move(body).error();
    GroupMessage item{in->group(), Message{in->from(), in->to(), in->term(), std::move(*body)}};
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace strand::raft
