// The consumer-group checkers (broker_history.h, check_group_history).
#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "sim/broker_history.h"

namespace strand::sim {

namespace {

std::string ms_label(io::Instant at) { return std::to_string((at - io::Instant{}).count_ms()); }

std::string member_label(std::uint32_t member, const std::string& member_id,
                         std::int32_t generation) {
  return "member " + std::to_string(member) + " (" + member_id + ", generation " +
         std::to_string(generation) + ")";
}

// A lost commit: in a cluster, an OffsetFetch answered below any acknowledged commit of the
// partition that completed before the fetch was sent; on a single broker, below every
// acknowledged commit that may have been the last one written before the fetch was sent. The last
// to complete before the fetch (L) may have been overtaken by commits that ran alongside it, so the
// candidates are L and every acknowledged commit that completed after L was sent (and before the
// fetch was sent). Not "below the highest commit" there: a member whose partition's log shrank (a
// bit flip's truncation, a power failure) clamps its position and commits lower, as Kafka's
// consumer does.
CheckVerdict check_commits_kept(const BrokerHistory& history) {
  const GroupHistory& group = history.group;
  // Acknowledged commits by partition, in completion order.
  std::map<std::int32_t, std::vector<const GroupCommit*>> acked;
  for (const GroupCommit& commit : group.commits) {
    if (commit.acknowledged()) acked[commit.partition].push_back(&commit);
  }
  for (auto& [partition, commits] : acked) {
    std::stable_sort(commits.begin(), commits.end(),
                     [](const GroupCommit* a, const GroupCommit* b) {
                       return a->completed_at < b->completed_at;
                     });
  }
  CheckFailures failures;
  std::uint64_t checked = 0;
  for (const GroupOffsetFetch& fetch : group.offset_fetches) {
    auto found = acked.find(fetch.partition);
    if (found == acked.end()) continue;
    const std::vector<const GroupCommit*>& commits = found->second;
    const GroupCommit* last = nullptr;
    for (const GroupCommit* commit : commits) {
      if (commit->completed_at >= fetch.sent_at) break;
      last = commit;
    }
    if (last == nullptr) continue;
    checked += 1;
    // `lowest`: the lowest offset the coordinator may answer. A replicated log never shrinks
    // below what a consumer read, so there no acknowledged commit may be lost at all.
    const GroupCommit* lowest = last;
    for (const GroupCommit* commit : commits) {
      if (commit->completed_at >= fetch.sent_at) break;
      const bool raises = history.replicated && commit->offset > lowest->offset;
      const bool overlaps = !history.replicated && commit->completed_at >= last->sent_at &&
                            commit->offset < lowest->offset;
      if (raises || overlaps) lowest = commit;
    }
    if (fetch.committed >= lowest->offset) continue;
    const PartitionKey tp{group.topic, fetch.partition};
    failures.add(member_label(fetch.member, fetch.member_id, fetch.generation) + " fetched " +
                 std::to_string(fetch.committed) + " for " + partition_label(tp) + " at " +
                 ms_label(fetch.sent_at) + " ms, after " +
                 member_label(lowest->member, lowest->member_id, lowest->generation) +
                 "'s commit of " + std::to_string(lowest->offset) + " was acknowledged at " +
                 ms_label(lowest->completed_at) + " ms");
  }
  return failures.verdict(
      "committed_offsets_monotonic",
      std::to_string(checked) + " offset fetches at or above the last acknowledged commit",
      "lost commits");
}

bool power_failure_since(const BrokerHistory& history, io::Instant from) {
  return std::any_of(history.broker_crashes.begin(), history.broker_crashes.end(),
                     [&](io::Instant crash) { return crash >= from; });
}

// No acknowledged commit beyond the partition's final log end. A single broker's power failure
// may legitimately remove acks=1 or acks=0 records a member read (and committed past), and a bit
// flip may destroy records: those are excused; a replicated log's high watermark never moves back.
CheckVerdict check_commits_within_log(const BrokerHistory& history) {
  const GroupHistory& group = history.group;
  CheckFailures failures;
  std::uint64_t excused = 0;
  std::uint64_t checked = 0;
  for (const GroupCommit& commit : group.commits) {
    if (!commit.acknowledged()) continue;
    const PartitionKey tp{group.topic, commit.partition};
    auto readback = history.readback.find(tp);
    if (readback == history.readback.end() || readback->second.end < 0) continue;
    checked += 1;
    if (commit.offset <= readback->second.end) continue;
    if (history.taint.contains(tp) ||
        (!history.replicated && power_failure_since(history, commit.sent_at))) {
      excused += 1;
      continue;
    }
    failures.add(member_label(commit.member, commit.member_id, commit.generation) + " committed " +
                 std::to_string(commit.offset) + " for " + partition_label(tp) +
                 " (its last fetch saw high watermark " +
                 std::to_string(commit.high_watermark_seen) + "), the log ends at " +
                 std::to_string(readback->second.end));
  }
  return failures.verdict("committed_within_log",
                          std::to_string(checked) + " acknowledged commits within the log (" +
                              std::to_string(excused) + " excused by power failures or bit flips)",
                          "commits beyond the log end");
}

CheckVerdict check_one_member(const BrokerHistory& history) {
  const GroupHistory& group = history.group;
  // (generation, partition, offset) -> the first delivery.
  std::map<std::tuple<std::int32_t, std::int32_t, std::int64_t>, const GroupDelivery*> first;
  CheckFailures failures;
  for (const GroupDelivery& delivery : group.deliveries) {
    auto [it, fresh] = first.try_emplace(
        std::make_tuple(delivery.generation, delivery.partition, delivery.offset), &delivery);
    if (fresh || it->second->member_id == delivery.member_id) continue;
    const PartitionKey tp{group.topic, delivery.partition};
    failures.add(partition_label(tp) + "@" + std::to_string(delivery.offset) + " in generation " +
                 std::to_string(delivery.generation) + " went to " + it->second->member_id +
                 " and " + delivery.member_id);
  }
  return failures.verdict("one_member_per_generation_partition",
                          std::to_string(group.deliveries.size()) +
                              " deliveries, each offset to one member per generation",
                          "offsets delivered to two members of one generation");
}

// After the producers stop, the group's acknowledged commits reach every partition's final log
// end within the bound.
CheckVerdict check_group_liveness(const BrokerHistory& history, const CheckLimits& limits) {
  const GroupHistory& group = history.group;
  CheckFailures failures;
  io::Duration slowest;
  for (const auto& [tp, readback] : history.readback) {
    if (tp.topic != group.topic || history.taint.contains(tp)) continue;
    if (readback.end < 0) {
      failures.add(partition_label(tp) + ": the read-back never learned its end");
      continue;
    }
    std::int64_t highest = -1;
    std::optional<io::Instant> reached;
    for (const GroupCommit& commit : group.commits) {
      if (commit.partition != tp.partition || !commit.acknowledged()) continue;
      highest = std::max(highest, commit.offset);
      if (commit.offset >= readback.end && (!reached || commit.completed_at < *reached)) {
        reached = commit.completed_at;
      }
    }
    if (!reached) {
      failures.add(partition_label(tp) + ": committed up to " + std::to_string(highest) +
                   ", the log ends at " + std::to_string(readback.end));
      continue;
    }
    const io::Duration after =
        *reached > history.producers_stop ? *reached - history.producers_stop : io::Duration{};
    if (after > limits.group_liveness_bound) {
      failures.add(partition_label(tp) + ": the end committed " + std::to_string(after.count_ms()) +
                   " ms after the producers stopped");
    }
    slowest = std::max(slowest, after);
  }
  return failures.verdict(
      "group_liveness",
      "commits at every partition's end within " + std::to_string(slowest.count_ms()) +
          " ms of the producers' stop; " + std::to_string(group.joins) + " generations joined, " +
          std::to_string(group.join_failures) + " failed joins, " +
          std::to_string(group.member_crashes) + " member crashes" +
          (group.last_join_error.empty() ? ""
                                         : " (first join failure: " + group.last_join_error + ")"),
      "group liveness failures");
}

}  // namespace

std::vector<CheckVerdict> check_group_history(const BrokerHistory& history,
                                              const CheckLimits& limits) {
  std::vector<CheckVerdict> verdicts;
  verdicts.push_back(check_commits_kept(history));
  verdicts.push_back(check_commits_within_log(history));
  verdicts.push_back(check_one_member(history));
  verdicts.push_back(check_group_liveness(history, limits));
  return verdicts;
}

}  // namespace strand::sim
