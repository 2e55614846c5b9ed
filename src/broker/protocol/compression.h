// Kafka's record compression codecs: the records of a batch v2 (everything after its 61-byte
// header) are one gzip, snappy, lz4 or zstd stream when the batch's attributes say so. The broker
// stores such batches verbatim; it decompresses only to look inside one (the record a timestamp
// points at), and clients decompress what they fetch.
//
// Formats, as Kafka's clients write them: gzip is a gzip stream (RFC 1952, members may follow each
// other); snappy is either raw snappy (librdkafka) or the framing of the Java client's
// snappy-java (magic "\x82SNAPPY\0", two 32-bit versions, then blocks of a 32-bit big-endian
// length and raw snappy); lz4 is an LZ4 frame; zstd is a zstd frame.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "broker/protocol/record_batch.h"
#include "io/result.h"

namespace strand::protocol {

// The bytes `input` decompresses to with `codec`. Never more than `output_bytes_max`: a stream
// that would grow past it is refused, so a small hostile batch cannot make the broker allocate
// without bound. Errors: kCorrupt (not a valid stream of that codec, or truncated), kInvalid
// (codec kNone or unknown, or the output would exceed `output_bytes_max`).
io::Result<std::vector<std::byte>> decompress(Compression codec, std::span<const std::byte> input,
                                              std::size_t output_bytes_max);

// `input` compressed with `codec` in the format described above (raw snappy for snappy).
// Errors: kInvalid for kNone or an unknown codec.
io::Result<std::vector<std::byte>> compress(Compression codec, std::span<const std::byte> input);

// The name Kafka gives a codec in `compression.type` ("none", "gzip", "snappy", "lz4", "zstd").
const char* compression_name(Compression codec);

}  // namespace strand::protocol
