// Inter-broker RPC frames: [u32 length][u16 method][u64 correlation id][payload], big-endian,
// the length counting what follows it. A response echoes the call's correlation id with the
// method's response bit set; a call that failed on the callee's side is answered by
// kErrorResponse with an RpcError FlatBuffer (rpc_error.fbs) as payload. Payloads are opaque
// here: FlatBuffers for messages, raw bytes for record batches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "io/network.h"
#include "io/result.h"
#include "io/task.h"

namespace strand::rpc {

using Method = std::uint16_t;

inline constexpr std::size_t kLengthFieldBytes = 4;
inline constexpr std::size_t kFrameHeaderBytes = kLengthFieldBytes + 2 + 8;
inline constexpr Method kResponseBit = 0x8000;
inline constexpr Method kErrorResponse = 0xffff;
// Larger frames are refused and end the connection (a peer speaking something else, or broken).
inline constexpr std::uint32_t kFrameBytesMax = 64u << 20;

struct Frame {
  Method method = 0;
  std::uint64_t correlation_id = 0;
  std::vector<std::byte> payload;
};

// The frame's bytes. REQUIRES: the payload fits kFrameBytesMax.
std::vector<std::byte> encode_frame(Method method, std::uint64_t correlation_id,
                                    std::span<const std::byte> payload);

// Reads one whole frame. Errors: the connection's (kClosed at a clean end between frames),
// kCorrupt for a length below the header or above kFrameBytesMax.
io::Task<io::Result<Frame>> read_frame(io::Connection& connection);

// The payload of an error response, and back. A payload that does not verify decodes to a
// kCorrupt error saying so.
std::vector<std::byte> encode_error(const io::Error& error);
io::Error decode_error(std::span<const std::byte> payload);

}  // namespace strand::rpc
