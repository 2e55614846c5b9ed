// Kafka wire primitives. Reader decodes from a byte span and never reads past it: every failure
// (truncation, a negative or absurd length, an overlong varint) latches an error that the caller
// checks once at the end, so a hostile frame yields a decode error, never UB or a huge allocation.
// Writer appends to a growable buffer.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/result.h"

namespace strand::protocol {

using Uuid = std::array<std::uint8_t, 16>;

// The value of an authorized-operations field (Metadata, DescribeCluster) that the client did not
// ask for: Kafka's default, INT32_MIN.
inline constexpr std::int32_t kAuthorizedOperationsOmitted = -2147483647 - 1;

// One tagged field of a flexible version that this codec does not interpret; kept for round trips.
struct TaggedField {
  std::uint32_t tag;
  std::vector<std::byte> data;
  friend bool operator==(const TaggedField&, const TaggedField&) = default;
};

class Reader {
 public:
  explicit Reader(std::span<const std::byte> bytes) : rest_(bytes) {}

  bool ok() const { return !error_; }
  const std::string& error_message() const { return *error_; }
  // The latched error as a value (kCorrupt), or ok.
  io::Result<void> status() const;
  std::size_t remaining() const { return rest_.size(); }
  std::span<const std::byte> rest() const { return rest_; }

  std::int8_t read_i8();
  std::int16_t read_i16();
  std::int32_t read_i32();
  std::int64_t read_i64();
  std::uint32_t read_u32();
  bool read_bool();
  double read_f64();
  Uuid read_uuid();
  std::uint32_t read_unsigned_varint();
  std::int32_t read_varint();
  std::int64_t read_varlong();

  std::string read_string();  // i16 length; null is an error
  std::optional<std::string> read_nullable_string();
  std::string read_compact_string();  // uvarint length + 1
  std::optional<std::string> read_compact_nullable_string();
  std::vector<std::byte> read_bytes();  // i32 length
  std::optional<std::vector<std::byte>> read_nullable_bytes();
  std::vector<std::byte> read_compact_bytes();
  std::optional<std::vector<std::byte>> read_compact_nullable_bytes();
  // A view into the frame, without copying (record batches).
  std::span<const std::byte> read_nullable_bytes_view(bool compact, bool* was_null);

  // Array length: -1 (null) comes back as nullopt. Checks that `count` elements of at least
  // `element_bytes_min` bytes each could fit in what is left, so a lying length can't make the
  // caller allocate gigabytes.
  std::optional<std::int32_t> read_array_length(std::size_t element_bytes_min);
  std::optional<std::int32_t> read_compact_array_length(std::size_t element_bytes_min);
  // An array that may not be null: null latches an error naming `field`; returns 0 then.
  std::int32_t read_required_array_length(std::size_t element_bytes_min,
                                          std::string_view field = "array");

  // Tagged fields of a flexible struct: returns the unknown ones (all of them; callers pick).
  std::vector<TaggedField> read_tagged_fields();

  void fail(std::string message);

 private:
  bool take(std::size_t count, const std::byte** out);
  std::span<const std::byte> rest_;
  std::optional<std::string> error_;
};

class Writer {
 public:
  std::vector<std::byte>& bytes() { return out_; }
  std::vector<std::byte> take() { return std::move(out_); }
  std::size_t size() const { return out_.size(); }

  void write_i8(std::int8_t value);
  void write_i16(std::int16_t value);
  void write_i32(std::int32_t value);
  void write_i64(std::int64_t value);
  void write_u32(std::uint32_t value);
  void write_bool(bool value) { write_i8(value ? 1 : 0); }
  void write_f64(double value);
  void write_uuid(const Uuid& value);
  void write_unsigned_varint(std::uint32_t value);
  void write_varint(std::int32_t value);
  void write_varlong(std::int64_t value);

  void write_string(std::string_view value);
  void write_nullable_string(const std::optional<std::string>& value);
  void write_compact_string(std::string_view value);
  void write_compact_nullable_string(const std::optional<std::string>& value);
  void write_bytes(std::span<const std::byte> value);
  void write_nullable_bytes(const std::optional<std::vector<std::byte>>& value);
  void write_compact_bytes(std::span<const std::byte> value);
  void write_compact_nullable_bytes(const std::optional<std::vector<std::byte>>& value);
  void write_raw(std::span<const std::byte> value);

  void write_array_length(std::int32_t count);          // -1 for null
  void write_compact_array_length(std::int32_t count);  // -1 for null
  void write_tagged_fields(const std::vector<TaggedField>& fields);
  void write_empty_tagged_fields() { write_unsigned_varint(0); }

  // Reserves an i32 at the current position, to be filled by patch_i32 (frame lengths).
  std::size_t reserve_i32();
  void patch_i32(std::size_t position, std::int32_t value);

 private:
  std::vector<std::byte> out_;
};

}  // namespace strand::protocol
