#include "broker/protocol/topic_name.h"

#include <string>
#include <utility>

namespace strand::protocol {

namespace {

bool is_legal_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// Printable ASCII as is, everything else as \xHH, so a hostile name can't garble a log line.
std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out.push_back(c);
      continue;
    }
    out += "\\x";
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0xf]);
  }
  return out;
}

io::Error invalid(std::string message) {
  return io::Error{io::ErrorKind::kInvalid, std::move(message)};
}

}  // namespace

io::Result<void> validate_topic_name(std::string_view name) {
  if (name.empty()) return invalid("topic name is empty");
  if (name == "." || name == "..") {
    return invalid("topic name '" + std::string(name) + "' is not allowed");
  }
  if (name.size() > kTopicNameBytesMax) {
    return invalid("topic name of " + std::to_string(name.size()) +
                   " characters is longer than the maximum of " +
                   std::to_string(kTopicNameBytesMax));
  }
  for (char c : name) {
    if (!is_legal_char(c)) {
      return invalid("topic name '" + printable(name) + "' has illegal character '" +
                     printable(std::string_view(&c, 1)) +
                     "'; only ASCII letters, digits, '.', '_' and '-' are allowed");
    }
  }
  return io::ok();
}

bool topic_names_collide(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] == '.' ? '_' : a[i];
    const char y = b[i] == '.' ? '_' : b[i];
    if (x != y) return false;
  }
  return true;
}

bool is_internal_topic(std::string_view name) {
  return name == "__consumer_offsets" || name == "__transaction_state";
}

}  // namespace strand::protocol
