// Invariant: after any sequence of appends, syncs, rolls, truncations, retention runs, injected
// I/O errors and crashes (with unsynced data dropped, kept or torn), the log equals a prefix of
// what was appended that contains everything synced, offsets stay dense, no corrupt or phantom
// batch is ever read, and retention removes only batches older than the limit.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "broker/protocol/batch_builder.h"
#include "broker/storage/partition_log.h"
#include "storage_env.h"

namespace strand::storage {
namespace {

using protocol::BatchOrigin;
using testing::ManualClock;
using testing::run;
using testing::StorageEnv;

struct ModelBatch {
  std::int64_t base;
  int count;
  std::string tag;
  std::int64_t timestamp;
};

enum class Op { kAppend, kRead, kSync, kCrash, kTruncate, kRetention, kRoll, kFaults };

void showValue(Op op, std::ostream& os) {
  static const char* const kNames[] = {"Append",   "Read",      "Sync", "Crash",
                                       "Truncate", "Retention", "Roll", "Faults"};
  os << kNames[static_cast<int>(op)];
}

struct Harness {
  sim::SimDisk disk;
  ManualClock clock;
  std::unique_ptr<StorageEnv> env;
  std::unique_ptr<PartitionLog> log;
  LogConfig config;
  std::vector<ModelBatch> model;  // batches the log must hold, from its start
  std::int64_t synced_end = 0;    // the model's durable prefix
  std::int64_t start = 0;
  std::uint64_t seed;

  void open() {
    env = std::make_unique<StorageEnv>(disk, clock, seed++);
    auto opened = run(PartitionLog::open(*env, "p/t-0", config));
    RC_ASSERT(opened.ok());
    log = std::move(*opened);
  }
  std::int64_t model_end() const {
    return model.empty() ? start : model.back().base + model.back().count;
  }
};

std::vector<std::pair<std::int64_t, std::string>> read_all(PartitionLog& log, std::int64_t from) {
  std::vector<std::pair<std::int64_t, std::string>> out;
  for (int rounds = 0; rounds < 10'000 && from < log.next_offset(); ++rounds) {
    auto bytes = run(log.read(from, 700));
    RC_ASSERT(bytes.ok());
    RC_ASSERT(!bytes->empty());
    std::size_t at = 0;
    while (at < bytes->size()) {
      std::span<const std::byte> rest = std::span(*bytes).subspan(at);
      const std::uint32_t size = protocol::RecordBatchView::peek_size(rest).value();
      auto batch = protocol::RecordBatchView::parse(rest.first(size), BatchOrigin::kLog);
      RC_ASSERT(batch.ok());  // never a corrupt batch
      auto records = protocol::read_records(*batch);
      RC_ASSERT(records.ok());
      out.emplace_back(batch->base_offset(), *(*records)[0].key);
      from = batch->last_offset() + 1;
      at += size;
    }
  }
  return out;
}

void check_against_model(Harness& h) {
  RC_ASSERT(h.log->log_start_offset() == h.start);
  RC_ASSERT(h.log->next_offset() == h.model_end());
  auto batches = read_all(*h.log, h.start);
  RC_ASSERT(batches.size() == h.model.size());
  for (std::size_t i = 0; i < batches.size(); ++i) {
    RC_ASSERT(batches[i].first == h.model[i].base);  // dense, monotonic, no phantom
    RC_ASSERT(batches[i].second == h.model[i].tag);
  }
}

void do_append(Harness& h) {
  const int count = *rc::gen::inRange(1, 5);
  const std::string tag = "b" + std::to_string(h.model_end()) + "-" + std::to_string(h.seed);
  std::vector<protocol::Record> records;
  for (int i = 0; i < count; ++i) {
    records.push_back({tag, std::string(*rc::gen::inRange(0, 200), 'x'), {}, h.clock.wall_ms(), 0});
  }
  auto result = run(h.log->append(protocol::build_batch(records), 1, BatchOrigin::kClient));
  if (!result) return;  // an injected fault: nothing may have changed (checked by the next read)
  RC_ASSERT(result->base_offset == h.model_end());
  h.model.push_back({result->base_offset, count, tag, h.clock.wall_ms()});
}

void do_crash(Harness& h) {
  h.log.reset();
  io::SeededRandom random(h.seed * 31);
  h.disk.crash(random);
  h.disk.faults() = sim::SimDiskFaults{};
  h.open();
  const std::int64_t end = h.log->next_offset();
  RC_ASSERT(end >= h.synced_end);   // everything synced survived
  RC_ASSERT(end <= h.model_end());  // nothing that was never appended
  while (!h.model.empty() && h.model.back().base >= end) h.model.pop_back();
  RC_ASSERT(h.model_end() == end);  // the cut falls between whole batches
  h.synced_end = end;
}

void do_retention(Harness& h) {
  h.clock.advance_ms(*rc::gen::inRange(0, 40'000));
  auto result = run(h.log->apply_retention(h.clock.wall_ms()));
  if (!result) return;
  const std::int64_t new_start = h.log->log_start_offset();
  RC_ASSERT(new_start >= h.start);
  while (!h.model.empty() && h.model.front().base < new_start) {
    // Only batches older than the limit may go.
    RC_ASSERT(h.clock.wall_ms() - h.model.front().timestamp > h.config.retention_ms);
    h.model.erase(h.model.begin());
  }
  h.start = new_start;
  // And nothing removable was left: the oldest closed segment is within the limit.
  const std::vector<SegmentSummary> segments = h.log->segments();
  if (segments.size() > 1 && segments.front().max_timestamp >= 0) {
    RC_ASSERT(h.clock.wall_ms() - segments.front().max_timestamp <= h.config.retention_ms);
  }
}

void do_truncate(Harness& h) {
  if (h.model.empty()) return;
  const auto index = *rc::gen::inRange<std::size_t>(0, h.model.size());
  const std::int64_t cut = h.model[index].base;
  auto result = run(h.log->truncate_suffix(cut));
  if (!result) return;
  h.model.resize(index);
  h.synced_end = std::min(h.synced_end, cut);  // the cut itself is synced
}

void step_unfaulted(Harness& h, Op op);

void step(Harness& h, Op op) {
  // Injected write errors hit appends and syncs, whose failures the log promises to survive in
  // place. A failing truncation, roll or retention run fails the log instead (restart recovers),
  // which this model does not follow, so they run fault-free.
  const sim::SimDiskFaults faults = h.disk.faults();
  if (op == Op::kTruncate || op == Op::kRetention || op == Op::kRoll) {
    h.disk.faults() = sim::SimDiskFaults{};
  }
  step_unfaulted(h, op);
  h.disk.faults() = faults;
}

void step_unfaulted(Harness& h, Op op) {
  switch (op) {
    case Op::kAppend:
      do_append(h);
      break;
    case Op::kRead:
      check_against_model(h);
      break;
    case Op::kSync:
      if (run(h.log->sync()).ok()) h.synced_end = h.model_end();
      break;
    case Op::kCrash:
      do_crash(h);
      break;
    case Op::kTruncate:
      do_truncate(h);
      break;
    case Op::kRetention:
      do_retention(h);
      break;
    case Op::kRoll:
      (void)run(h.log->roll());
      break;
    case Op::kFaults:
      h.disk.faults().write_error_probability = *rc::gen::element(0.0, 0.0, 0.2);
      break;
  }
}

RC_GTEST_PROP(PartitionLogModel, CrashesNeverLoseSyncedOrServeCorruptData, ()) {
  Harness h;
  h.seed = *rc::gen::inRange<std::uint64_t>(1, 1'000'000);
  h.config.segment_bytes = *rc::gen::inRange<std::uint64_t>(400, 4000);
  h.config.index_interval_bytes = *rc::gen::inRange<std::uint32_t>(1, 2000);
  h.config.retention_ms = 60'000;
  h.open();
  const auto ops =
      *rc::gen::container<std::vector<Op>>(rc::gen::weightedElement<Op>({{10, Op::kAppend},
                                                                         {3, Op::kRead},
                                                                         {3, Op::kSync},
                                                                         {2, Op::kCrash},
                                                                         {1, Op::kTruncate},
                                                                         {1, Op::kRetention},
                                                                         {1, Op::kRoll},
                                                                         {1, Op::kFaults}}));
  for (Op op : ops) {
    step(h, op);
    if (h.log->failed()) do_crash(h);  // a failed log is only recovered by a restart
  }
  h.disk.faults() = sim::SimDiskFaults{};
  check_against_model(h);
  do_crash(h);
  check_against_model(h);
}

}  // namespace
}  // namespace strand::storage
