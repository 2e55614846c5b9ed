#include "io/network.h"

#include <charconv>
#include <string>

namespace strand::io {

std::string Address::to_string() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string text = ipv6 ? "[" + host + "]" : host;
  text += ':';
  text += std::to_string(port);
  return text;
}

Result<Address> parse_address(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    return Error{ErrorKind::kInvalid, "address '" + std::string(text) + "' is not host:port"};
  }
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      return Error{ErrorKind::kInvalid,
                   "address '" + std::string(text) + "' has a bad [ipv6] host"};
    }
    host = host.substr(1, host.size() - 2);
  }
  const std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, error] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (error != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
    return Error{ErrorKind::kInvalid, "address '" + std::string(text) + "' has a bad port"};
  }
  return Address{std::string(host), static_cast<std::uint16_t>(port)};
}

Task<Result<void>> read_exact(Connection& connection, std::span<std::byte> target) {
  std::size_t filled = 0;
  while (filled < target.size()) {
    Result<std::size_t> got = co_await connection.read_some(target.subspan(filled));
    if (!got) co_return std::move(got).error();
    STRAND_ASSERT(*got > 0 && *got <= target.size() - filled, "read_some returns 1..asked bytes");
    filled += *got;
  }
  co_return ok();
}

}  // namespace strand::io
