#include "broker/protocol/compression.h"

#include <lz4frame.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "broker/protocol/byte_order.h"
#include "io/assert.h"

namespace strand::protocol {
namespace {

constexpr std::size_t kFirstOutputBytes = 64 << 10;
constexpr std::array<unsigned char, 8> kSnappyJavaMagic = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr std::size_t kSnappyJavaHeaderBytes = 16;  // magic, version, compatible version

io::Error corrupt(Compression codec, const std::string& what) {
  return io::Error{io::ErrorKind::kCorrupt,
                   std::string(compression_name(codec)) + " records: " + what};
}

io::Error too_large(Compression codec, std::size_t output_bytes_max) {
  return io::Error{io::ErrorKind::kInvalid, std::string(compression_name(codec)) +
                                                " records decompress to more than " +
                                                std::to_string(output_bytes_max) + " bytes"};
}

// Room for more output: doubles the buffer, up to the limit. False when it is full at the limit.
// Decoders grow to one byte past their caller's limit, so a stream that ends exactly at the
// limit still gets room to say so, and one byte more means it was too large.
bool grow(std::vector<std::byte>& out, std::size_t used, std::size_t output_bytes_max) {
  if (used < out.size()) return true;
  if (out.size() >= output_bytes_max) return false;
  const std::size_t doubled = std::max<std::size_t>(out.size() * 2, kFirstOutputBytes);
  out.resize(std::min(doubled, output_bytes_max));
  return true;
}

io::Result<std::vector<std::byte>> gunzip(std::span<const std::byte> input, std::size_t max) {
  z_stream stream{};
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) return corrupt(Compression::kGzip, "init");
  std::vector<std::byte> out;
  std::size_t used = 0;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(input.data()));
  stream.avail_in = static_cast<uInt>(input.size());
  io::Result<void> status = io::ok();
  for (std::uint64_t rounds = 0;; ++rounds) {
    if (rounds > input.size() + max + 1) {  // each round consumes input or makes output
      status = corrupt(Compression::kGzip, "the decoder makes no progress");
      break;
    }
    if (!grow(out, used, max + 1)) {
      status = too_large(Compression::kGzip, max);
      break;
    }
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    stream.avail_out = static_cast<uInt>(out.size() - used);
    const int result = inflate(&stream, Z_NO_FLUSH);
    used = out.size() - stream.avail_out;
    if (result == Z_STREAM_END) {
      if (stream.avail_in == 0) break;
      inflateReset(&stream);  // another gzip member follows
      continue;
    }
    if (result == Z_BUF_ERROR && stream.avail_in == 0) {
      status = corrupt(Compression::kGzip, "truncated stream");
      break;
    }
    if (result != Z_OK && result != Z_BUF_ERROR) {
      status = corrupt(Compression::kGzip, stream.msg != nullptr ? stream.msg : "bad stream");
      break;
    }
  }
  inflateEnd(&stream);
  if (!status) return std::move(status).error();
  if (used > max) return too_large(Compression::kGzip, max);
  out.resize(used);
  return out;
}

io::Result<void> unsnappy_raw(std::span<const std::byte> input, std::size_t max,
                              std::vector<std::byte>& out) {
  const auto* in = reinterpret_cast<const char*>(input.data());
  std::size_t length = 0;
  if (snappy_uncompressed_length(in, input.size(), &length) != SNAPPY_OK) {
    return corrupt(Compression::kSnappy, "bad length preamble");
  }
  if (length > max - std::min(max, out.size())) return too_large(Compression::kSnappy, max);
  const std::size_t at = out.size();
  out.resize(at + length);
  if (snappy_uncompress(in, input.size(), reinterpret_cast<char*>(out.data() + at), &length) !=
      SNAPPY_OK) {
    return corrupt(Compression::kSnappy, "bad block");
  }
  return io::ok();
}

io::Result<std::vector<std::byte>> unsnappy(std::span<const std::byte> input, std::size_t max) {
  std::vector<std::byte> out;
  const bool java_framed = input.size() >= kSnappyJavaHeaderBytes &&
                           std::memcmp(input.data(), kSnappyJavaMagic.data(), 8) == 0;
  if (!java_framed) {
    io::Result<void> done = unsnappy_raw(input, max, out);
    if (!done) return std::move(done).error();
    return out;
  }
  std::span<const std::byte> rest = input.subspan(kSnappyJavaHeaderBytes);
  for (std::uint64_t blocks = 0; !rest.empty(); ++blocks) {
    STRAND_ASSERT(blocks <= input.size(), "every block consumes input");
    if (rest.size() < 4) return corrupt(Compression::kSnappy, "truncated block length");
    const std::uint32_t length = load_be<std::uint32_t>(rest.data());
    if (length > rest.size() - 4) return corrupt(Compression::kSnappy, "truncated block");
    io::Result<void> done = unsnappy_raw(rest.subspan(4, length), max, out);
    if (!done) return std::move(done).error();
    rest = rest.subspan(4 + std::size_t{length});
  }
  return out;
}

io::Result<std::vector<std::byte>> unlz4(std::span<const std::byte> input, std::size_t max) {
  LZ4F_dctx* context = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&context, LZ4F_VERSION))) {
    return corrupt(Compression::kLz4, "init");
  }
  std::vector<std::byte> out;
  std::size_t used = 0;
  std::size_t consumed = 0;
  io::Result<void> status = io::ok();
  for (std::uint64_t rounds = 0;; ++rounds) {
    if (rounds > input.size() + max + 1) {  // each round consumes input or makes output
      status = corrupt(Compression::kLz4, "the decoder makes no progress");
      break;
    }
    if (!grow(out, used, max + 1)) {
      status = too_large(Compression::kLz4, max);
      break;
    }
    std::size_t out_bytes = out.size() - used;
    std::size_t in_bytes = input.size() - consumed;
    const std::size_t hint = LZ4F_decompress(context, out.data() + used, &out_bytes,
                                             input.data() + consumed, &in_bytes, nullptr);
    used += out_bytes;
    consumed += in_bytes;
    if (LZ4F_isError(hint)) {
      status = corrupt(Compression::kLz4, LZ4F_getErrorName(hint));
      break;
    }
    if (hint == 0) break;  // the frame is complete
    if (consumed == input.size() && out_bytes == 0 && used < out.size()) {
      status = corrupt(Compression::kLz4, "truncated frame");
      break;
    }
  }
  LZ4F_freeDecompressionContext(context);
  if (!status) return std::move(status).error();
  if (used > max) return too_large(Compression::kLz4, max);
  out.resize(used);
  return out;
}

io::Result<std::vector<std::byte>> unzstd(std::span<const std::byte> input, std::size_t max) {
  ZSTD_DStream* stream = ZSTD_createDStream();
  if (stream == nullptr) return corrupt(Compression::kZstd, "init");
  std::vector<std::byte> out;
  ZSTD_inBuffer in{input.data(), input.size(), 0};
  std::size_t used = 0;
  std::size_t last = 1;  // ZSTD_decompressStream's hint: 0 once a frame is complete
  io::Result<void> status = io::ok();
  for (std::uint64_t rounds = 0; in.pos < in.size || last != 0; ++rounds) {
    if (rounds > input.size() + max + 1) {  // each round consumes input or makes output
      status = corrupt(Compression::kZstd, "the decoder makes no progress");
      break;
    }
    if (!grow(out, used, max + 1)) {
      status = too_large(Compression::kZstd, max);
      break;
    }
    ZSTD_outBuffer target{out.data() + used, out.size() - used, 0};
    const std::size_t before = in.pos;
    last = ZSTD_decompressStream(stream, &target, &in);
    used += target.pos;
    if (ZSTD_isError(last)) {
      status = corrupt(Compression::kZstd, ZSTD_getErrorName(last));
      break;
    }
    if (last != 0 && in.pos == in.size && in.pos == before && target.pos < target.size) {
      status = corrupt(Compression::kZstd, "truncated frame");
      break;
    }
  }
  ZSTD_freeDStream(stream);
  if (!status) return std::move(status).error();
  if (used > max) return too_large(Compression::kZstd, max);
  out.resize(used);
  return out;
}

io::Result<std::vector<std::byte>> gzip(std::span<const std::byte> input) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return corrupt(Compression::kGzip, "init");
  }
  std::vector<std::byte> out(deflateBound(&stream, static_cast<uLong>(input.size())) + 32);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(input.data()));
  stream.avail_in = static_cast<uInt>(input.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int result = deflate(&stream, Z_FINISH);
  STRAND_ASSERT(result == Z_STREAM_END, "deflateBound leaves room for the whole stream");
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

}  // namespace

const char* compression_name(Compression codec) {
  switch (codec) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kSnappy:
      return "snappy";
    case Compression::kLz4:
      return "lz4";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

io::Result<std::vector<std::byte>> decompress(Compression codec, std::span<const std::byte> input,
                                              std::size_t output_bytes_max) {
  switch (codec) {
    case Compression::kGzip:
      return gunzip(input, output_bytes_max);
    case Compression::kSnappy:
      return unsnappy(input, output_bytes_max);
    case Compression::kLz4:
      return unlz4(input, output_bytes_max);
    case Compression::kZstd:
      return unzstd(input, output_bytes_max);
    case Compression::kNone:
      break;
  }
  return io::Error{io::ErrorKind::kInvalid,
                   "no decompression for codec " + std::to_string(static_cast<int>(codec))};
}

io::Result<std::vector<std::byte>> compress(Compression codec, std::span<const std::byte> input) {
  switch (codec) {
    case Compression::kGzip:
      return gzip(input);
    case Compression::kSnappy: {
      std::vector<std::byte> out(snappy_max_compressed_length(input.size()));
      std::size_t length = out.size();
      const snappy_status status =
          snappy_compress(reinterpret_cast<const char*>(input.data()), input.size(),
                          reinterpret_cast<char*>(out.data()), &length);
      STRAND_ASSERT(status == SNAPPY_OK, "the output has snappy's maximum size");
      out.resize(length);
      return out;
    }
    case Compression::kLz4: {
      std::vector<std::byte> out(LZ4F_compressFrameBound(input.size(), nullptr));
      const std::size_t length =
          LZ4F_compressFrame(out.data(), out.size(), input.data(), input.size(), nullptr);
      STRAND_ASSERT(!LZ4F_isError(length), "the output has the frame's bound");
      out.resize(length);
      return out;
    }
    case Compression::kZstd: {
      std::vector<std::byte> out(ZSTD_compressBound(input.size()));
      const std::size_t length =
          ZSTD_compress(out.data(), out.size(), input.data(), input.size(), ZSTD_CLEVEL_DEFAULT);
      STRAND_ASSERT(!ZSTD_isError(length), "the output has zstd's bound");
      out.resize(length);
      return out;
    }
    case Compression::kNone:
      break;
  }
  return io::Error{io::ErrorKind::kInvalid,
                   "no compression for codec " + std::to_string(static_cast<int>(codec))};
}

}  // namespace strand::protocol
