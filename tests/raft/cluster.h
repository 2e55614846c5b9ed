// A test driver for RaftCore: nodes with in-memory logs that distinguish written from synced,
// a message network with delay, loss, duplication, reordering and partitions, crashes that drop
// unsynced writes and un-persisted hard state, and checkers for Raft's safety properties. Used
// by the unit tests (deterministic, everything delivered) and the random simulation.
//
// Checkers never abort: a violation is recorded (first one wins) so that tests with planted
// bugs can assert that one was found.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/raft/core.h"
#include "io/random.h"

namespace strand::raft::testing {

// The driver's log on one node.
struct NodeLog {
  std::vector<Entry> entries;  // contiguous from log_start
  Offset log_start = 0;
  Term term_before_start = 0;         // term of log_start - 1
  Configuration config_before_start;  // in effect at log_start - 1
  Offset synced_last = -1;            // entries up to here survive a crash

  Offset last_offset() const {
    return entries.empty() ? log_start - 1 : entries.back().meta.last_offset;
  }
  // The entry holding `offset`, or null.
  const Entry* find(Offset offset) const;
  void truncate_from(Offset offset);
  // Everything below `offset` is gone (retention, or a follower moved forward).
  void drop_before(Offset offset, Term term_before, Configuration config_before);
  TermIndex term_index() const;
  std::vector<ConfigurationHistory::Item> configurations() const;
};

struct Node {
  NodeId id = kNoNode;
  std::unique_ptr<io::SeededRandom> random;
  std::unique_ptr<RaftCore> core;  // null while crashed
  NodeLog log;
  HardState durable_hard_state;
  HardState written_hard_state;
  Offset durable_commit = -1;   // the checkpointed commit index
  Offset reported_commit = -1;  // what this incarnation's readies reported
  std::vector<Message> awaiting_sync;
  std::optional<std::uint64_t> unsynced_ready;  // the last Ready written but not synced
  std::uint64_t incarnation = 0;

  bool up() const { return core != nullptr; }
};

struct NetworkOptions {
  double loss = 0;                   // probability a message is dropped
  double duplicate = 0;              // probability it is delivered twice
  std::int32_t delay_ticks_max = 0;  // delivered after 0..this many ticks
};

class Cluster {
 public:
  // `voters` form the bootstrap configuration; `others` start with it too but are not members
  // (they can be added as learners).
  Cluster(std::vector<NodeId> voters, std::vector<NodeId> others, Config base, std::uint64_t seed);

  Node& node(NodeId id) { return nodes_.at(id); }
  const std::map<NodeId, Node>& nodes() const { return nodes_; }
  RaftCore& core(NodeId id) { return *nodes_.at(id).core; }
  std::vector<NodeId> ids() const;

  // --- driving ---
  // Ticks every running node once, then delivers what is due (see run_until_quiet).
  void tick_all();
  // Ticks one node once and processes its ready.
  void tick(NodeId id);
  // Processes readies and delivers due messages until nothing moves (bounded).
  void run_until_quiet();
  // Ticks all nodes up to `ticks_max` times until `done()`; returns whether it happened.
  template <typename Done>
  bool run_until(Done done, int ticks_max) {
    for (int i = 0; i < ticks_max; ++i) {
      if (done()) return true;
      tick_all();
    }
    return done();
  }
  // Ticks `id` alone until it campaigns, then lets the election play out.
  void elect(NodeId id);
  // Syncs every node's written state (entries, hard state) and releases its held messages.
  void sync_all();
  void sync(NodeId id);
  void crash(NodeId id);
  void restart(NodeId id);
  // Processes `id`'s ready if it has one.
  void process(NodeId id);
  // Retention on `id`: entries below `offset` (an entry's base offset, at most min(commit,
  // persisted) + 1) are removed from its log and its core is told.
  void retain_from(NodeId id, Offset offset);

  // --- network ---
  NetworkOptions network;
  bool auto_sync = true;  // sync right after every ready (unit tests)
  bool trace = false;     // print every ready and delivery to stderr
  void isolate(NodeId id);
  void partition(const std::set<NodeId>& side);  // everyone outside `side` is the other side
  void heal();
  bool connected(NodeId a, NodeId b) const;
  std::size_t in_flight_count() const { return queue_.size(); }
  // Drops every message in flight.
  void drop_in_flight() { queue_.clear(); }
  std::uint64_t delivered_count() const { return delivered_; }
  // Messages are counted by name as they are delivered.
  std::map<std::string, int> delivered_by_name;
  int delivered_rejections = 0;  // AppendResponses that rejected

  // --- queries ---
  // The running leader with the highest term, if any.
  std::optional<NodeId> leader() const;
  // Leader only: proposes one data entry with a unique payload; returns its range.
  ProposeResult propose(NodeId leader, std::int32_t records = 1);
  std::uint64_t now_ticks() const { return now_; }

  // --- checkers ---
  // Log matching over every pair of logs, and that each node's committed prefix agrees with
  // everything ever reported committed.
  void check_logs();
  const std::optional<std::string>& violation() const { return violation_; }
  const std::map<Offset, Entry>& committed_entries() const { return committed_; }

 private:
  struct Queued {
    Message message;
    std::uint64_t due;
  };

  void apply_ready(Node& node, Ready ready);
  void apply_log_writes(Node& node, Ready& ready);
  void attach_entries(Node& node, Message& message);
  void enqueue(Message message);
  bool deliver_due();
  void check_ready(Node& node, const Ready& ready);
  void check_leader_completeness(const Node& node);
  void check_committed_prefix(const Node& node, Offset commit);
  // Whether `message` would make `node` replace an entry it knows committed.
  bool overwrites_committed(const Node& node, const Message& message);
  void trace_message(const Message& message) const;
  void fail(std::string what);
  std::unique_ptr<RaftCore> make_core(Node& node);

  Config base_;
  Configuration bootstrap_;
  io::SeededRandom random_;
  std::map<NodeId, Node> nodes_;
  std::vector<Queued> queue_;
  std::set<std::pair<NodeId, NodeId>> cut_;  // directed links that drop everything
  std::uint64_t now_ = 0;
  std::uint64_t delivered_ = 0;
  std::uint64_t payload_counter_ = 0;
  std::map<Term, NodeId> leader_of_term_;
  std::map<Offset, Entry> committed_;  // by base offset: every entry ever reported committed
  std::optional<std::string> violation_;
};

std::string describe(const EntryMeta& meta);

}  // namespace strand::raft::testing
