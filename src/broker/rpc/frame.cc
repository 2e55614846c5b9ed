#include "broker/rpc/frame.h"

#include <array>

#include "broker/protocol/byte_order.h"
#include "broker/rpc/rpc_error_generated.h"

namespace strand::rpc {

std::vector<std::byte> encode_frame(Method method, std::uint64_t correlation_id,
                                    std::span<const std::byte> payload) {
  const std::size_t length = kFrameHeaderBytes - kLengthFieldBytes + payload.size();
  STRAND_ASSERT(length <= kFrameBytesMax, "callers keep payloads within the frame limit");
  std::vector<std::byte> frame(kFrameHeaderBytes + payload.size());
  protocol::store_be<std::uint32_t>(frame.data(), static_cast<std::uint32_t>(length));
  protocol::store_be<std::uint16_t>(frame.data() + 4, method);
  protocol::store_be<std::uint64_t>(frame.data() + 6, correlation_id);
  if (!payload.empty()) {
    std::copy(payload.begin(), payload.end(), frame.begin() + kFrameHeaderBytes);
  }
  return frame;
}

io::Task<io::Result<Frame>> read_frame(io::Connection& connection) {
  std::array<std::byte, kFrameHeaderBytes> header;
  io::Result<void> got = co_await io::read_exact(connection, header);
  if (!got) co_return std::move(got).error();
  const auto length = protocol::load_be<std::uint32_t>(header.data());
  if (length < kFrameHeaderBytes - kLengthFieldBytes || length > kFrameBytesMax) {
    co_return io::Error{
        io::ErrorKind::kCorrupt,
        "rpc frame of " + std::to_string(length) + " bytes from " + connection.peer().to_string()};
  }
  Frame frame;
  frame.method = protocol::load_be<std::uint16_t>(header.data() + 4);
  frame.correlation_id = protocol::load_be<std::uint64_t>(header.data() + 6);
  frame.payload.resize(length - (kFrameHeaderBytes - kLengthFieldBytes));
  io::Result<void> got_payload = co_await io::read_exact(connection, frame.payload);
  if (!got_payload) co_return std::move(got_payload).error();
  co_return std::move(frame);
}

std::vector<std::byte> encode_error(const io::Error& error) {
  flatbuffers::FlatBufferBuilder builder(64 + error.message.size());
  const auto message = builder.CreateString(error.message);
  builder.Finish(fb::CreateRpcError(builder, static_cast<std::uint8_t>(error.kind), message));
  const auto* data = reinterpret_cast<const std::byte*>(builder.GetBufferPointer());
  return {data, data + builder.GetSize()};
}

io::Error decode_error(std::span<const std::byte> payload) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(payload.data());
  flatbuffers::Verifier verifier(data, payload.size());
  if (!fb::VerifyRpcErrorBuffer(verifier)) {
    return io::Error{io::ErrorKind::kCorrupt, "an rpc error response that does not verify"};
  }
  const fb::RpcError* error = fb::GetRpcError(data);
  const std::uint8_t kind = error->kind();
  if (kind > static_cast<std::uint8_t>(io::ErrorKind::kUnavailable)) {
    return io::Error{io::ErrorKind::kCorrupt,
                     "an rpc error response of unknown kind " + std::to_string(kind)};
  }
  std::string message = error->message() != nullptr ? error->message()->str() : "";
  return io::Error{static_cast<io::ErrorKind>(kind), "peer: " + message};
}

}  // namespace strand::rpc
