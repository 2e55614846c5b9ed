// Raft messages between brokers over the inter-broker RPC. One method, kRaftMessagesMethod,
// carries a batch of (group, message) pairs (message_codec.h) to one peer; its answer is empty.
// Each message is fire-and-forget: answers to Raft messages are Raft messages going the other
// way. One RpcClient per peer broker, so every group shares one connection per peer, and one
// sender task per peer that ships whatever queued while the previous call was in flight.
//
// GroupRegistry is the receiving side: it routes each incoming message to the replica of its
// group (groups this broker does not host are dropped).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "broker/raft/replica.h"
#include "broker/raft/transport.h"
#include "broker/rpc/rpc_client.h"
#include "broker/rpc/rpc_server.h"
#include "io/env.h"
#include "io/sync.h"
#include "io/task_scope.h"

namespace strand::raft {

inline constexpr rpc::Method kRaftMessagesMethod = 0x0100;

struct RpcTransportOptions {
  std::size_t queue_messages_max = 8192;  // per peer; beyond it the oldest are dropped
  std::size_t call_messages_max = 1024;   // per RPC call
  io::Duration call_timeout = io::Duration::ms(500);
};

class RpcTransport final : public Transport {
 public:
  RpcTransport(io::Env& env, std::map<NodeId, io::Address> peers, RpcTransportOptions options = {});
  RpcTransport(const RpcTransport&) = delete;
  RpcTransport& operator=(const RpcTransport&) = delete;

  // Queues for the peer's sender; messages to unknown peers are dropped.
  void send(GroupId group, Message message) override;
  // A new peer gets its sender (at once if run() is running); a known one at another address
  // reconnects there between calls.
  void learn_peer(NodeId node, io::Address address) override;
  // Runs one sender per peer until stop() (or until the frame is destroyed).
  io::Task<void> run();
  // The senders finish their call in flight (or its timeout) and end; queued messages are dropped.
  void stop();

  std::uint64_t dropped_count() const { return dropped_; }

 private:
  struct Peer {
    std::unique_ptr<rpc::RpcClient> client;
    io::Address address;
    std::optional<io::Address> moved_to;  // the client is replaced before the next call
    std::deque<GroupMessage> queue;
    io::Condition queued;
  };
  io::Task<void> run_peer(Peer* peer);

  io::Env& env_;
  RpcTransportOptions options_;
  std::map<NodeId, std::unique_ptr<Peer>> peers_;
  std::uint64_t dropped_ = 0;
  bool running_ = false;
  bool stopping_ = false;
  io::TaskScope senders_;  // last: destroyed first
};

class GroupRegistry {
 public:
  // REQUIRES: `group` not registered. The replica must stay alive until removed.
  void add(Replica& replica);
  void remove(GroupId group);
  Replica* find(GroupId group) const;

  // Delivers every message of a decoded batch to its replica.
  void deliver(std::span<const GroupMessage> messages);
  // The kRaftMessagesMethod handler. Errors: kCorrupt for a payload that does not decode.
  io::Task<io::Result<std::vector<std::byte>>> handle(std::span<const std::byte> payload);
  // Registers handle() on `server`.
  void serve_on(rpc::RpcServer& server);

  std::uint64_t unknown_group_count() const { return unknown_group_; }

 private:
  std::unordered_map<GroupId, Replica*> replicas_;  // looked up per message, never iterated
  std::uint64_t unknown_group_ = 0;
};

}  // namespace strand::raft
