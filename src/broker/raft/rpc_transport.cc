#include "broker/raft/rpc_transport.h"

#include <algorithm>
#include <utility>

namespace strand::raft {

RpcTransport::RpcTransport(io::Env& env, std::map<NodeId, io::Address> peers,
                           RpcTransportOptions options)
    : env_(env), options_(options) {
  for (auto& [id, address] : peers) learn_peer(id, std::move(address));
}

void RpcTransport::learn_peer(NodeId node, io::Address address) {
  auto it = peers_.find(node);
  if (it != peers_.end()) {
    Peer& peer = *it->second;
    if ((peer.moved_to ? *peer.moved_to : peer.address) != address) {
      peer.moved_to = std::move(address);
    }
    return;
  }
  auto peer = std::make_unique<Peer>();
  peer->address = address;
  peer->client = std::make_unique<rpc::RpcClient>(env_, std::move(address));
  Peer* added = peer.get();
  peers_.emplace(node, std::move(peer));
  if (running_ && !stopping_) senders_.spawn(run_peer(added));
}

void RpcTransport::send(GroupId group, Message message) {
  auto it = peers_.find(message.to);
  if (it == peers_.end()) {
    ++dropped_;
    return;
  }
  Peer& peer = *it->second;
  if (peer.queue.size() >= options_.queue_messages_max) {
    peer.queue.pop_front();  // the newest messages supersede the oldest
    ++dropped_;
  }
  peer.queue.push_back(GroupMessage{group, std::move(message)});
  peer.queued.notify_all();
}

io::Task<void> RpcTransport::run() {
  running_ = true;
  for (auto& [id, peer] : peers_) senders_.spawn(run_peer(peer.get()));
  co_await senders_.join();
}

void RpcTransport::stop() {
  stopping_ = true;
  for (auto& [id, peer] : peers_) peer->queued.notify_all();
}

// Ships the queue in calls of at most call_messages_max; a failed call loses its messages.
io::Task<void> RpcTransport::run_peer(Peer* peer) {
  while (!stopping_) {
    if (peer->queue.empty()) {
      co_await peer->queued.wait();  // send() and stop() notify; no timer to re-arm
      continue;
    }
    const std::size_t count = std::min(peer->queue.size(), options_.call_messages_max);
    std::vector<GroupMessage> batch;
    batch.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      batch.push_back(std::move(peer->queue.front()));
      peer->queue.pop_front();
    }
    if (peer->moved_to) {
      peer->address = std::move(*peer->moved_to);
      peer->moved_to.reset();
      peer->client = std::make_unique<rpc::RpcClient>(env_, peer->address);
    }
    const std::vector<std::byte> payload = encode_messages(batch);
    io::Result<std::vector<std::byte>> answer =
        co_await peer->client->call(kRaftMessagesMethod, payload, options_.call_timeout);
    if (!answer) dropped_ += count;
  }
}

void GroupRegistry::add(Replica& replica) {
  const bool added = replicas_.emplace(replica.group(), &replica).second;
  STRAND_ASSERT(added, "one replica per group per broker");
}

void GroupRegistry::remove(GroupId group) { replicas_.erase(group); }

Replica* GroupRegistry::find(GroupId group) const {
  auto it = replicas_.find(group);
  return it == replicas_.end() ? nullptr : it->second;
}

void GroupRegistry::deliver(std::span<const GroupMessage> messages) {
  for (const GroupMessage& item : messages) {
    Replica* replica = find(item.group);
    if (replica == nullptr) {
      ++unknown_group_;
      continue;
    }
    replica->step(item.message);
  }
}

io::Task<io::Result<std::vector<std::byte>>> GroupRegistry::handle(
    std::span<const std::byte> payload) {
  io::Result<std::vector<GroupMessage>> messages = decode_messages(payload);
  if (!messages) co_return std::move(messages).error();
  deliver(*messages);
  co_return std::vector<std::byte>{};
}

void GroupRegistry::serve_on(rpc::RpcServer& server) {
  server.add_method(kRaftMessagesMethod,
                    [this](std::span<const std::byte> payload) { return handle(payload); });
}

}  // namespace strand::raft
