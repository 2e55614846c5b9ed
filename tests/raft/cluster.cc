#include "cluster.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <utility>

#include "io/assert.h"

namespace strand::raft::testing {

namespace {

constexpr int kQuietRoundsMax = 100000;

}  // namespace

std::string describe(const EntryMeta& meta) {
  std::ostringstream out;
  out << "[" << meta.base_offset << ".." << meta.last_offset << " t" << meta.term << "]";
  return out.str();
}

// --- NodeLog ---

const Entry* NodeLog::find(Offset offset) const {
  auto it = std::upper_bound(entries.begin(), entries.end(), offset,
                             [](Offset o, const Entry& e) { return o < e.meta.base_offset; });
  if (it == entries.begin()) return nullptr;
  const Entry& entry = *std::prev(it);
  return offset <= entry.meta.last_offset ? &entry : nullptr;
}

void NodeLog::truncate_from(Offset offset) {
  while (!entries.empty() && entries.back().meta.base_offset >= offset) entries.pop_back();
  STRAND_ASSERT(last_offset() < offset, "truncation falls between entries");
  synced_last = std::min(synced_last, offset - 1);
}

void NodeLog::drop_before(Offset offset, Term term_before, Configuration config_before) {
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const Entry& e) { return e.meta.base_offset >= offset; });
  if (it != entries.begin()) {
    STRAND_ASSERT(std::prev(it)->meta.last_offset < offset, "the log start is an entry start");
  }
  entries.erase(entries.begin(), it);
  log_start = offset;
  term_before_start = term_before;
  config_before_start = std::move(config_before);
  synced_last = std::max(synced_last, offset - 1);
}

TermIndex NodeLog::term_index() const {
  std::vector<TermStart> starts{TermStart{term_before_start, log_start - 1}};
  for (const Entry& entry : entries) {
    if (entry.meta.term > starts.back().term) {
      starts.push_back(TermStart{entry.meta.term, entry.meta.base_offset});
    }
  }
  return TermIndex(std::move(starts), log_start, last_offset());
}

std::vector<ConfigurationHistory::Item> NodeLog::configurations() const {
  std::vector<ConfigurationHistory::Item> items{{log_start - 1, config_before_start}};
  for (const Entry& entry : entries) {
    if (entry.configuration) items.push_back({entry.meta.base_offset, *entry.configuration});
  }
  return items;
}

// --- Cluster ---

Cluster::Cluster(std::vector<NodeId> voters, std::vector<NodeId> others, Config base,
                 std::uint64_t seed)
    : base_(base), random_(io::mix64(seed)) {
  std::sort(voters.begin(), voters.end());
  bootstrap_ = Configuration{voters, {}};
  std::vector<NodeId> all = voters;
  all.insert(all.end(), others.begin(), others.end());
  for (NodeId id : all) {
    Node& node = nodes_[id];
    node.id = id;
    node.random = std::make_unique<io::SeededRandom>(io::mix64(seed * 1000003 + id));
    node.log.config_before_start = bootstrap_;
    node.core = make_core(node);
  }
}

std::unique_ptr<RaftCore> Cluster::make_core(Node& node) {
  Config config = base_;
  config.self = node.id;
  RestoredState restored{node.durable_hard_state, node.log.term_index(), node.durable_commit,
                         node.log.configurations()};
  return std::make_unique<RaftCore>(config, std::move(restored), *node.random);
}

std::vector<NodeId> Cluster::ids() const {
  std::vector<NodeId> out;
  for (const auto& [id, node] : nodes_) out.push_back(id);
  return out;
}

void Cluster::tick_all() {
  ++now_;
  for (auto& [id, node] : nodes_) {
    if (!node.up()) continue;
    node.core->tick();
    process(id);
  }
  run_until_quiet();
}

void Cluster::tick(NodeId id) {
  ++now_;
  node(id).core->tick();
  process(id);
  run_until_quiet();
}

void Cluster::run_until_quiet() {
  for (int round = 0; round < kQuietRoundsMax && !violation_; ++round) {
    bool moved = false;
    for (auto& [id, node] : nodes_) {
      if (node.up() && node.core->has_ready()) {
        process(id);
        moved = true;
      }
    }
    if (deliver_due()) moved = true;
    if (!moved) return;
  }
  STRAND_ASSERT(violation_, "the cluster quiets down");
}

void Cluster::elect(NodeId id) {
  const Term before = core(id).term();
  for (int i = 0; i < 10 * base_.election_timeout_ticks; ++i) {
    if (core(id).role() != Role::kFollower || core(id).term() != before) break;
    tick(id);
  }
  run_until_quiet();
}

void Cluster::process(NodeId id) {
  Node& n = node(id);
  if (!n.up() || !n.core->has_ready() || violation_) return;
  apply_ready(n, n.core->take_ready());
}

void Cluster::apply_ready(Node& node, Ready ready) {
  if (trace) {
    std::fprintf(stderr, "t%llu n%d ready#%llu", static_cast<unsigned long long>(now_), node.id,
                 static_cast<unsigned long long>(ready.number));
    if (ready.hard_state) {
      std::fprintf(stderr, " hs(t%d v%d)", ready.hard_state->term, ready.hard_state->voted_for);
    }
    if (ready.soft_state) {
      std::fprintf(stderr, " %s(t%d L%d)", role_name(ready.soft_state->role),
                   ready.soft_state->term, ready.soft_state->leader);
    }
    if (ready.truncate_from) std::fprintf(stderr, " trunc@%lld", (long long)*ready.truncate_from);
    if (ready.log_start_offset)
      std::fprintf(stderr, " start@%lld", (long long)*ready.log_start_offset);
    for (const Entry& e : ready.to_persist) std::fprintf(stderr, " +%s", describe(e.meta).c_str());
    if (ready.committed) std::fprintf(stderr, " commit=%lld", (long long)*ready.committed);
    std::fprintf(stderr, "\n");
  }
  apply_log_writes(node, ready);
  check_ready(node, ready);
  for (Message& message : ready.to_send_now) {
    attach_entries(node, message);
    enqueue(std::move(message));
  }
  for (Message& message : ready.to_send_after_sync) node.awaiting_sync.push_back(message);
  node.unsynced_ready = ready.number;
  if (auto_sync) sync(node.id);
}

void Cluster::apply_log_writes(Node& node, Ready& ready) {
  NodeLog& log = node.log;
  if (ready.hard_state) node.written_hard_state = *ready.hard_state;
  // Truncations and log start moves are durable at once, so the hard state goes first (the
  // contract's step 2): a log never holds a term beyond the stored one.
  if (ready.truncate_from || ready.log_start_offset) {
    node.durable_hard_state = node.written_hard_state;
  }
  if (ready.truncate_from) log.truncate_from(*ready.truncate_from);
  if (ready.log_start_offset) {
    const Offset start = *ready.log_start_offset;
    const RaftCore& core = *node.core;
    STRAND_ASSERT(core.log_start_offset() == start, "one log start move per ready");
    if (log.last_offset() < start) log.entries.clear();
    log.drop_before(start, core.term_index().term_at(start - 1),
                    core.configuration_history().at(start - 1));
  }
  for (Entry& entry : ready.to_persist) {
    if (entry.meta.base_offset != log.last_offset() + 1) {
      fail("node " + std::to_string(node.id) + " asked to write " + describe(entry.meta) +
           " after offset " + std::to_string(log.last_offset()));
      return;
    }
    log.entries.push_back(std::move(entry));
  }
}

void Cluster::sync_all() {
  for (auto& [id, node] : nodes_) sync(id);
}

void Cluster::sync(NodeId id) {
  Node& n = node(id);
  if (!n.up() || !n.unsynced_ready) return;
  n.log.synced_last = n.log.last_offset();
  n.durable_hard_state = n.written_hard_state;
  n.durable_commit = std::max(n.durable_commit, std::min(n.reported_commit, n.log.synced_last));
  std::vector<Message> held = std::move(n.awaiting_sync);
  n.awaiting_sync.clear();
  for (Message& message : held) {
    attach_entries(n, message);
    enqueue(std::move(message));
  }
  Ready done;
  done.number = *n.unsynced_ready;
  n.unsynced_ready.reset();
  n.core->advance(done);
}

void Cluster::retain_from(NodeId id, Offset offset) {
  Node& n = node(id);
  const Term term_before = n.core->term_index().term_at(offset - 1);
  n.core->advance_log_start_offset(offset);
  n.log.drop_before(offset, term_before, n.core->configuration_history().at(offset - 1));
}

void Cluster::crash(NodeId id) {
  Node& n = node(id);
  if (!n.up()) return;
  if (trace) {
    std::fprintf(stderr, "t%llu n%d CRASH synced_last=%lld durable hs t%d\n",
                 static_cast<unsigned long long>(now_), id, (long long)n.log.synced_last,
                 n.durable_hard_state.term);
  }
  n.core.reset();
  n.log.truncate_from(n.log.synced_last + 1);
  n.written_hard_state = n.durable_hard_state;
  n.awaiting_sync.clear();
  n.unsynced_ready.reset();
}

void Cluster::restart(NodeId id) {
  Node& n = node(id);
  if (n.up()) return;
  ++n.incarnation;
  n.core = make_core(n);
  n.reported_commit = n.core->commit_index();
  if (trace) {
    std::fprintf(stderr, "t%llu n%d RESTART log %lld..%lld commit %lld term %d\n",
                 static_cast<unsigned long long>(now_), id, (long long)n.log.log_start,
                 (long long)n.log.last_offset(), (long long)n.core->commit_index(), n.core->term());
  }
}

void Cluster::attach_entries(Node& node, Message& message) {
  auto* append = std::get_if<AppendRequest>(&message.body);
  if (append == nullptr) return;
  const std::uint32_t limit = static_cast<std::uint32_t>(
      network.delay_ticks_max > 0 ? random_.between(1, base_.append_entries_max)
                                  : base_.append_entries_max);
  Offset last = append->prev_offset;
  const Entry* entry = node.log.find(append->prev_offset + 1);
  if (entry != nullptr && entry->meta.base_offset == append->prev_offset + 1) {
    auto it = node.log.entries.begin() + (entry - node.log.entries.data());
    for (; it != node.log.entries.end() && append->entries.size() < limit; ++it) {
      append->entries.push_back(*it);
      last = it->meta.last_offset;
    }
  }
  if (node.up()) node.core->append_sent(message.to, message.term, append->prev_offset, last);
}

void Cluster::enqueue(Message message) {
  if (network.loss > 0 && random_.chance(network.loss)) return;
  const int copies = (network.duplicate > 0 && random_.chance(network.duplicate)) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    const auto delay = static_cast<std::uint64_t>(random_.between(0, network.delay_ticks_max));
    queue_.push_back(Queued{message, now_ + delay});
  }
}

bool Cluster::deliver_due() {
  std::vector<Message> due;
  std::vector<Queued> later;
  for (Queued& queued : queue_) {
    if (queued.due <= now_) {
      due.push_back(std::move(queued.message));
    } else {
      later.push_back(std::move(queued));
    }
  }
  if (due.empty()) return false;
  queue_ = std::move(later);
  if (network.delay_ticks_max > 0) {
    for (std::size_t i = due.size(); i > 1; --i) std::swap(due[i - 1], due[random_.uniform(i)]);
  }
  for (Message& message : due) {
    auto it = nodes_.find(message.to);
    if (it == nodes_.end() || !it->second.up() || !connected(message.from, message.to)) continue;
    // After a violation nothing runs on: a planted bug would soon trip the core's assertions.
    if (violation_ || overwrites_committed(it->second, message)) continue;
    ++delivered_;
    ++delivered_by_name[message_name(message)];
    if (const auto* answer = std::get_if<AppendResponse>(&message.body)) {
      if (!answer->success) ++delivered_rejections;
    }
    if (trace) trace_message(message);
    it->second.core->step(message);
    // The driver performs each ready before the next message, so its log is what checkers see.
    process(message.to);
  }
  return true;
}

bool Cluster::overwrites_committed(const Node& node, const Message& message) {
  const auto* append = std::get_if<AppendRequest>(&message.body);
  if (append == nullptr || message.term < node.core->term()) return false;
  for (const Entry& entry : append->entries) {
    if (entry.meta.base_offset > node.core->commit_index()) break;
    const Entry* mine = node.log.find(entry.meta.base_offset);
    if (mine != nullptr && mine->meta.term != entry.meta.term) {
      fail("state machine safety: leader " + std::to_string(message.from) + " of term " +
           std::to_string(message.term) + " sends " + describe(entry.meta) + " over node " +
           std::to_string(node.id) + "'s committed " + describe(mine->meta));
      return true;
    }
  }
  return false;
}

void Cluster::trace_message(const Message& m) const {
  std::string detail;
  if (const auto* a = std::get_if<AppendRequest>(&m.body)) {
    detail = " prev=" + std::to_string(a->prev_offset) + "/t" + std::to_string(a->prev_term) +
             " lc=" + std::to_string(a->leader_commit) + " n=" + std::to_string(a->entries.size());
    for (const Entry& e : a->entries) detail += " " + describe(e.meta);
  } else if (const auto* r = std::get_if<AppendResponse>(&m.body)) {
    detail = (r->success ? " ok last=" : " reject last=") + std::to_string(r->last_offset) +
             " rej=" + std::to_string(r->rejected_prev_offset) +
             " hint=" + std::to_string(r->hint_offset) + "/t" + std::to_string(r->hint_term);
  } else if (const auto* h = std::get_if<HeartbeatRequest>(&m.body)) {
    detail =
        " commit=" + std::to_string(h->commit_offset) + " match=" + std::to_string(h->match_offset);
  } else if (const auto* v = std::get_if<VoteResponse>(&m.body)) {
    detail = v->granted ? " granted" : " rejected";
  }
  std::fprintf(stderr, "t%llu   %d->%d t%d %s%s\n", static_cast<unsigned long long>(now_), m.from,
               m.to, m.term, message_name(m), detail.c_str());
}

void Cluster::isolate(NodeId id) { partition({id}); }

void Cluster::partition(const std::set<NodeId>& side) {
  cut_.clear();
  for (NodeId a : ids()) {
    for (NodeId b : ids()) {
      if (side.contains(a) != side.contains(b)) cut_.insert({a, b});
    }
  }
}

void Cluster::heal() { cut_.clear(); }

bool Cluster::connected(NodeId a, NodeId b) const { return !cut_.contains({a, b}); }

std::optional<NodeId> Cluster::leader() const {
  std::optional<NodeId> best;
  Term best_term = -1;
  for (const auto& [id, node] : nodes_) {
    if (node.up() && node.core->role() == Role::kLeader && node.core->term() > best_term) {
      best = id;
      best_term = node.core->term();
    }
  }
  return best;
}

ProposeResult Cluster::propose(NodeId leader, std::int32_t records) {
  std::vector<std::byte> payload(sizeof(std::uint64_t));
  const std::uint64_t tag = ++payload_counter_;
  std::memcpy(payload.data(), &tag, sizeof(tag));
  ProposeResult result = core(leader).propose(records, std::move(payload));
  process(leader);
  return result;
}

}  // namespace strand::raft::testing
