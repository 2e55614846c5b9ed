#include "client/kafka_connection.h"

#include <array>

#include "broker/protocol/byte_order.h"

namespace strand::client {

io::Task<io::Result<std::unique_ptr<KafkaConnection>>> KafkaConnection::connect(
    io::Env& env, io::Address address, std::string client_id) {
  io::Result<std::unique_ptr<io::Connection>> connected = co_await env.net().connect(address);
  if (!connected) co_return std::move(connected).error();
  std::unique_ptr<KafkaConnection> connection(
      new KafkaConnection(env, std::move(*connected), std::move(address), std::move(client_id)));
  connection->reader_.spawn(connection->read_responses());
  co_return std::move(connection);
}

KafkaConnection::KafkaConnection(io::Env& env, std::unique_ptr<io::Connection> connection,
                                 io::Address address, std::string client_id)
    : env_(env),
      connection_(std::move(connection)),
      address_(std::move(address)),
      client_id_(std::move(client_id)) {}

KafkaConnection::~KafkaConnection() {
  reader_.cancel();
  fail_all(io::Error{io::ErrorKind::kClosed, "connection destroyed"});
}

void KafkaConnection::close() {
  if (closed_) return;
  closed_ = true;
  connection_->close();
}

void KafkaConnection::complete(std::shared_ptr<Call> call,
                               io::Result<std::vector<std::byte>> result) {
  call->result.emplace(std::move(result));
  // Callers resume from the executor, not inline: a caller may destroy this connection, and the
  // reader that completes it must not be on the stack when that happens.
  env_.executor().post([call = std::move(call)] { call->done.set(); });
}

void KafkaConnection::fail_all(const io::Error& error) {
  std::map<std::int32_t, std::shared_ptr<Call>> calls = std::move(calls_);
  calls_.clear();
  for (auto& [id, call] : calls) complete(call, error);
}

io::Task<io::Result<std::int32_t>> KafkaConnection::write_request(
    protocol::ApiKey key, std::int16_t version, const std::vector<std::byte>& body) {
  if (closed_) co_return io::Error{io::ErrorKind::kClosed, "connection closed"};
  const std::int32_t correlation_id = next_correlation_id_++;
  protocol::Writer writer;
  const std::size_t size_at = writer.reserve_i32();
  writer.write_i16(static_cast<std::int16_t>(key));
  writer.write_i16(version);
  writer.write_i32(correlation_id);
  writer.write_nullable_string(client_id_);
  if (protocol::is_flexible(key, version)) writer.write_empty_tagged_fields();
  writer.write_raw(body);
  writer.patch_i32(size_at, static_cast<std::int32_t>(writer.size() - 4));
  io::Mutex::Guard guard = co_await writing_.lock();
  io::Result<void> written = co_await connection_->write(writer.bytes());
  if (!written) {
    close();
    co_return std::move(written).error();
  }
  co_return correlation_id;
}

io::Task<io::Result<std::vector<std::byte>>> KafkaConnection::call(protocol::ApiKey key,
                                                                   std::int16_t version,
                                                                   std::vector<std::byte> body) {
  auto call = std::make_shared<Call>();
  // ApiVersions answers with a v0 header always, so old clients can read its error.
  call->flexible_response =
      key != protocol::ApiKey::kApiVersions && protocol::is_flexible(key, version);
  // Registered before the write completes: the response can arrive before write() returns.
  const std::int32_t expected_id = next_correlation_id_;
  calls_[expected_id] = call;
  io::Result<std::int32_t> sent = co_await write_request(key, version, body);
  if (!sent) {
    calls_.erase(expected_id);
    co_return std::move(sent).error();
  }
  STRAND_ASSERT(*sent == expected_id, "correlation ids are handed out in call order");
  if (!call->result) co_await call->done.wait();
  co_return std::move(*call->result);
}

io::Task<io::Result<void>> KafkaConnection::send(protocol::ApiKey key, std::int16_t version,
                                                 std::vector<std::byte> body) {
  io::Result<std::int32_t> sent = co_await write_request(key, version, body);
  if (!sent) co_return std::move(sent).error();
  co_return io::ok();
}

io::Task<void> KafkaConnection::read_responses() {
  for (;;) {
    std::array<std::byte, 4> size_bytes;
    io::Result<void> got = co_await io::read_exact(*connection_, size_bytes);
    if (!got) {
      fail_all(got.error());
      break;
    }
    const auto size =
        static_cast<std::int32_t>(protocol::load_be<std::uint32_t>(size_bytes.data()));
    if (size < 4 || size > kResponseBytesMax) {
      close();
      fail_all(io::Error{io::ErrorKind::kCorrupt,
                         "response frame of " + std::to_string(size) + " bytes"});
      break;
    }
    std::vector<std::byte> frame(static_cast<std::size_t>(size));
    io::Result<void> got_frame = co_await io::read_exact(*connection_, frame);
    if (!got_frame) {
      fail_all(got_frame.error());
      break;
    }
    protocol::Reader reader(frame);
    const std::int32_t correlation_id = reader.read_i32();
    auto it = calls_.find(correlation_id);
    if (it == calls_.end()) {
      close();
      fail_all(io::Error{io::ErrorKind::kCorrupt,
                         "response to unknown correlation id " + std::to_string(correlation_id)});
      break;
    }
    std::shared_ptr<Call> call = it->second;
    calls_.erase(it);
    if (call->flexible_response) (void)reader.read_tagged_fields();
    if (!reader.ok()) {
      complete(std::move(call), reader.status().error());
    } else {
      const auto body = reader.rest();
      complete(std::move(call), std::vector<std::byte>(body.begin(), body.end()));
    }
  }
}

}  // namespace strand::client
