#include "broker/protocol/codec.h"

#include <bit>
#include <cstring>

#include "broker/protocol/byte_order.h"
#include "broker/protocol/varint.h"

namespace strand::protocol {

namespace {
// No single string or byte field may claim more than this (frames are capped far lower anyway).
constexpr std::uint64_t kFieldBytesMax = 256ull << 20;
}  // namespace

io::Result<void> Reader::status() const {
  if (error_) return io::Error{io::ErrorKind::kCorrupt, *error_};
  return io::ok();
}

void Reader::fail(std::string message) {
  if (!error_) error_ = std::move(message);
  rest_ = {};
}

bool Reader::take(std::size_t count, const std::byte** out) {
  if (error_) return false;
  if (count > rest_.size()) {
    fail("truncated: needed " + std::to_string(count) + " bytes, " + std::to_string(rest_.size()) +
         " left");
    return false;
  }
  *out = rest_.data();
  rest_ = rest_.subspan(count);
  return true;
}

#define STRAND_READ_FIXED(type, name)           \
  type Reader::name() {                         \
    const std::byte* p = nullptr;               \
    if (!take(sizeof(type), &p)) return type{}; \
    return load_be<type>(p);                    \
  }
STRAND_READ_FIXED(std::int8_t, read_i8)
STRAND_READ_FIXED(std::int16_t, read_i16)
STRAND_READ_FIXED(std::int32_t, read_i32)
STRAND_READ_FIXED(std::int64_t, read_i64)
STRAND_READ_FIXED(std::uint32_t, read_u32)
#undef STRAND_READ_FIXED

bool Reader::read_bool() { return read_i8() != 0; }

double Reader::read_f64() { return std::bit_cast<double>(static_cast<std::uint64_t>(read_i64())); }

Uuid Reader::read_uuid() {
  Uuid uuid{};
  const std::byte* p = nullptr;
  if (take(uuid.size(), &p)) std::memcpy(uuid.data(), p, uuid.size());
  return uuid;
}

std::uint32_t Reader::read_unsigned_varint() {
  if (error_) return 0;
  std::optional<std::uint64_t> value = protocol::read_unsigned_varint(rest_, kVarintBytesMax);
  if (!value || *value > 0xffffffffu) {
    fail("bad unsigned varint");
    return 0;
  }
  return static_cast<std::uint32_t>(*value);
}

std::int32_t Reader::read_varint() {
  if (error_) return 0;
  std::optional<std::int32_t> value = protocol::read_varint(rest_);
  if (!value) fail("bad varint");
  return value.value_or(0);
}

std::int64_t Reader::read_varlong() {
  if (error_) return 0;
  std::optional<std::int64_t> value = protocol::read_varlong(rest_);
  if (!value) fail("bad varlong");
  return value.value_or(0);
}

namespace {

std::string as_string(const std::byte* p, std::size_t length) {
  return std::string(reinterpret_cast<const char*>(p), length);
}

}  // namespace

std::optional<std::string> Reader::read_nullable_string() {
  const std::int16_t length = read_i16();
  if (!ok() || length == -1) return std::nullopt;
  if (length < -1) {
    fail("string length " + std::to_string(length) + " is negative");
    return std::nullopt;
  }
  const std::byte* p = nullptr;
  if (!take(static_cast<std::size_t>(length), &p)) return std::nullopt;
  return as_string(p, static_cast<std::size_t>(length));
}

std::string Reader::read_string() {
  std::optional<std::string> value = read_nullable_string();
  if (!value && ok()) fail("string is null where a value is required");
  return value.value_or(std::string{});
}

std::optional<std::string> Reader::read_compact_nullable_string() {
  const std::uint32_t length_plus_one = read_unsigned_varint();
  if (!ok() || length_plus_one == 0) return std::nullopt;
  const std::uint64_t length = length_plus_one - 1;
  if (length > kFieldBytesMax) {
    fail("string length " + std::to_string(length) + " is absurd");
    return std::nullopt;
  }
  const std::byte* p = nullptr;
  if (!take(length, &p)) return std::nullopt;
  return as_string(p, length);
}

std::string Reader::read_compact_string() {
  std::optional<std::string> value = read_compact_nullable_string();
  if (!value && ok()) fail("compact string is null where a value is required");
  return value.value_or(std::string{});
}

std::span<const std::byte> Reader::read_nullable_bytes_view(bool compact, bool* was_null) {
  std::int64_t length = 0;
  if (compact) {
    length = static_cast<std::int64_t>(read_unsigned_varint()) - 1;
  } else {
    length = read_i32();
  }
  *was_null = false;
  if (!ok()) return {};
  if (length == -1) {
    *was_null = true;
    return {};
  }
  if (length < -1 || static_cast<std::uint64_t>(length) > kFieldBytesMax) {
    fail("bytes length " + std::to_string(length) + " is out of range");
    return {};
  }
  const std::byte* p = nullptr;
  if (!take(static_cast<std::size_t>(length), &p)) return {};
  return {p, static_cast<std::size_t>(length)};
}

std::optional<std::vector<std::byte>> Reader::read_nullable_bytes() {
  bool was_null = false;
  std::span<const std::byte> view = read_nullable_bytes_view(false, &was_null);
  if (!ok() || was_null) return std::nullopt;
  return std::vector<std::byte>(view.begin(), view.end());
}

std::vector<std::byte> Reader::read_bytes() {
  std::optional<std::vector<std::byte>> value = read_nullable_bytes();
  if (!value && ok()) fail("bytes are null where a value is required");
  return value.value_or(std::vector<std::byte>{});
}

std::optional<std::vector<std::byte>> Reader::read_compact_nullable_bytes() {
  bool was_null = false;
  std::span<const std::byte> view = read_nullable_bytes_view(true, &was_null);
  if (!ok() || was_null) return std::nullopt;
  return std::vector<std::byte>(view.begin(), view.end());
}

std::vector<std::byte> Reader::read_compact_bytes() {
  std::optional<std::vector<std::byte>> value = read_compact_nullable_bytes();
  if (!value && ok()) fail("compact bytes are null where a value is required");
  return value.value_or(std::vector<std::byte>{});
}

namespace {

bool plausible_count(std::int64_t count, std::size_t element_bytes_min, std::size_t remaining) {
  const std::size_t per_element = element_bytes_min == 0 ? 1 : element_bytes_min;
  return static_cast<std::uint64_t>(count) <= remaining / per_element;
}

}  // namespace

std::optional<std::int32_t> Reader::read_array_length(std::size_t element_bytes_min) {
  const std::int32_t count = read_i32();
  if (!ok() || count == -1) return std::nullopt;
  if (count < -1 || !plausible_count(count, element_bytes_min, rest_.size())) {
    fail("array length " + std::to_string(count) + " can't fit in the " +
         std::to_string(rest_.size()) + " bytes left");
    return std::nullopt;
  }
  return count;
}

std::optional<std::int32_t> Reader::read_compact_array_length(std::size_t element_bytes_min) {
  const std::uint32_t count_plus_one = read_unsigned_varint();
  if (!ok() || count_plus_one == 0) return std::nullopt;
  const std::int64_t count = static_cast<std::int64_t>(count_plus_one) - 1;
  if (!plausible_count(count, element_bytes_min, rest_.size())) {
    fail("compact array length " + std::to_string(count) + " can't fit in the " +
         std::to_string(rest_.size()) + " bytes left");
    return std::nullopt;
  }
  return static_cast<std::int32_t>(count);
}

std::int32_t Reader::read_required_array_length(std::size_t element_bytes_min,
                                                std::string_view field) {
  std::optional<std::int32_t> count = read_array_length(element_bytes_min);
  if (!count && ok()) fail(std::string(field) + " is null where a value is required");
  return count.value_or(0);
}

std::vector<TaggedField> Reader::read_tagged_fields() {
  std::vector<TaggedField> fields;
  const std::uint32_t count = read_unsigned_varint();
  if (!ok()) return fields;
  if (!plausible_count(count, 2, rest_.size())) {
    fail("tagged field count " + std::to_string(count) + " is absurd");
    return fields;
  }
  for (std::uint32_t i = 0; i < count && ok(); ++i) {
    const std::uint32_t tag = read_unsigned_varint();
    const std::uint32_t size = read_unsigned_varint();
    const std::byte* p = nullptr;
    if (!take(size, &p)) break;
    fields.push_back(TaggedField{tag, std::vector<std::byte>(p, p + size)});
  }
  return fields;
}

// Writer

void Writer::write_i8(std::int8_t value) { out_.push_back(static_cast<std::byte>(value)); }

#define STRAND_WRITE_FIXED(type, name)       \
  void Writer::name(type value) {            \
    const std::size_t at = out_.size();      \
    out_.resize(at + sizeof(type));          \
    store_be<type>(out_.data() + at, value); \
  }
STRAND_WRITE_FIXED(std::int16_t, write_i16)
STRAND_WRITE_FIXED(std::int32_t, write_i32)
STRAND_WRITE_FIXED(std::int64_t, write_i64)
STRAND_WRITE_FIXED(std::uint32_t, write_u32)
#undef STRAND_WRITE_FIXED

void Writer::write_f64(double value) {
  write_i64(static_cast<std::int64_t>(std::bit_cast<std::uint64_t>(value)));
}

void Writer::write_uuid(const Uuid& value) {
  const auto* p = reinterpret_cast<const std::byte*>(value.data());
  out_.insert(out_.end(), p, p + value.size());
}

void Writer::write_unsigned_varint(std::uint32_t value) { append_unsigned_varint(out_, value); }
void Writer::write_varint(std::int32_t value) { append_varint(out_, value); }
void Writer::write_varlong(std::int64_t value) { append_varlong(out_, value); }

void Writer::write_raw(std::span<const std::byte> value) {
  out_.insert(out_.end(), value.begin(), value.end());
}

namespace {
std::span<const std::byte> bytes_of(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}
}  // namespace

void Writer::write_string(std::string_view value) {
  STRAND_ASSERT(value.size() <= 0x7fff, "a string fits an i16 length");
  write_i16(static_cast<std::int16_t>(value.size()));
  write_raw(bytes_of(value));
}

void Writer::write_nullable_string(const std::optional<std::string>& value) {
  if (!value) {
    write_i16(-1);
    return;
  }
  write_string(*value);
}

void Writer::write_compact_string(std::string_view value) {
  write_unsigned_varint(static_cast<std::uint32_t>(value.size()) + 1);
  write_raw(bytes_of(value));
}

void Writer::write_compact_nullable_string(const std::optional<std::string>& value) {
  if (!value) {
    write_unsigned_varint(0);
    return;
  }
  write_compact_string(*value);
}

void Writer::write_bytes(std::span<const std::byte> value) {
  write_i32(static_cast<std::int32_t>(value.size()));
  write_raw(value);
}

void Writer::write_nullable_bytes(const std::optional<std::vector<std::byte>>& value) {
  if (!value) {
    write_i32(-1);
    return;
  }
  write_bytes(*value);
}

void Writer::write_compact_bytes(std::span<const std::byte> value) {
  write_unsigned_varint(static_cast<std::uint32_t>(value.size()) + 1);
  write_raw(value);
}

void Writer::write_compact_nullable_bytes(const std::optional<std::vector<std::byte>>& value) {
  if (!value) {
    write_unsigned_varint(0);
    return;
  }
  write_compact_bytes(*value);
}

void Writer::write_array_length(std::int32_t count) { write_i32(count); }

void Writer::write_compact_array_length(std::int32_t count) {
  write_unsigned_varint(static_cast<std::uint32_t>(count + 1));
}

void Writer::write_tagged_fields(const std::vector<TaggedField>& fields) {
  write_unsigned_varint(static_cast<std::uint32_t>(fields.size()));
  for (const TaggedField& field : fields) {
    write_unsigned_varint(field.tag);
    write_unsigned_varint(static_cast<std::uint32_t>(field.data.size()));
    write_raw(field.data);
  }
}

std::size_t Writer::reserve_i32() {
  const std::size_t at = out_.size();
  write_i32(0);
  return at;
}

void Writer::patch_i32(std::size_t position, std::int32_t value) {
  STRAND_ASSERT(position + 4 <= out_.size(), "patching inside the buffer");
  store_be<std::int32_t>(out_.data() + position, value);
}

}  // namespace strand::protocol
