// How a replica's Raft messages leave the broker. Production plugs RpcTransport (one connection
// per peer broker shared by every group); tests may plug an in-memory one.
#pragma once

#include "broker/raft/message_codec.h"
#include "broker/raft/types.h"
#include "io/network.h"

namespace strand::raft {

class Transport {
 public:
  virtual ~Transport() = default;
  // Queues `message` for message.to. Never blocks and never fails: a message may be lost (Raft
  // retries what matters). AppendRequest entries carry their stored batches.
  virtual void send(GroupId group, Message message) = 0;
  // A peer's address, learned from the cluster's metadata (a broker registered outside the
  // controller quorum, or one that moved); later messages to `node` go there.
  virtual void learn_peer(NodeId node, io::Address address) {
    (void)node;
    (void)address;
  }
};

}  // namespace strand::raft
