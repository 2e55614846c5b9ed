#include "broker/raft/term_index.h"

#include <algorithm>
#include <utility>

#include "io/assert.h"

namespace strand::raft {

TermIndex::TermIndex() : starts_{TermStart{0, -1}} { check_invariants(); }

TermIndex::TermIndex(std::vector<TermStart> starts, Offset log_start_offset, Offset last_offset)
    : starts_(std::move(starts)), log_start_offset_(log_start_offset), last_offset_(last_offset) {
  check_invariants();
}

Term TermIndex::term_at(Offset offset) const {
  STRAND_ASSERT(covers(offset), "term_at within [log start - 1, last offset]");
  auto after = std::upper_bound(starts_.begin(), starts_.end(), offset,
                                [](Offset o, const TermStart& s) { return o < s.start_offset; });
  STRAND_ASSERT(after != starts_.begin(), "the first term start covers log start - 1");
  return std::prev(after)->term;
}

OffsetAndTerm TermIndex::find_conflict_by_term(Offset offset, Term term) const {
  STRAND_ASSERT(offset >= log_start_offset_ - 1, "asked about an offset below the log start");
  offset = std::min(offset, last_offset_);
  for (std::size_t i = starts_.size(); i-- > 0;) {
    const TermStart& start = starts_[i];
    if (start.start_offset > offset) continue;
    if (start.term <= term) return OffsetAndTerm{offset, start.term};
    // Every offset of this term is too new; continue just below where it starts.
    offset = start.start_offset - 1;
    if (offset < log_start_offset_ - 1) break;
  }
  return OffsetAndTerm{log_start_offset_ - 1, term_at(log_start_offset_ - 1)};
}

void TermIndex::append(Term term, Offset base_offset, Offset last_offset) {
  STRAND_ASSERT(base_offset == last_offset_ + 1, "entries are appended densely");
  STRAND_ASSERT(base_offset <= last_offset, "an entry covers at least one offset");
  STRAND_ASSERT(term >= last_term(), "terms never decrease along a log");
  if (term > last_term()) starts_.push_back(TermStart{term, base_offset});
  last_offset_ = last_offset;
}

void TermIndex::truncate_from(Offset offset) {
  STRAND_ASSERT(offset >= log_start_offset_ && offset <= last_offset_ + 1,
                "truncation point within the log");
  while (starts_.back().start_offset >= offset) starts_.pop_back();
  STRAND_ASSERT(!starts_.empty(), "the term of log start - 1 survives truncation");
  last_offset_ = offset - 1;
  check_invariants();
}

void TermIndex::advance_start(Offset offset) {
  STRAND_ASSERT(offset >= log_start_offset_ && offset <= last_offset_ + 1,
                "the log start offset moves forward within the log");
  log_start_offset_ = offset;
  std::size_t first_needed = 0;
  while (first_needed + 1 < starts_.size() &&
         starts_[first_needed + 1].start_offset <= offset - 1) {
    ++first_needed;
  }
  starts_.erase(starts_.begin(), starts_.begin() + static_cast<std::ptrdiff_t>(first_needed));
  check_invariants();
}

void TermIndex::reset(Offset offset, Term term) {
  STRAND_ASSERT(offset >= log_start_offset_, "a reset never moves the log start backwards");
  starts_.assign(1, TermStart{term, offset - 1});
  log_start_offset_ = offset;
  last_offset_ = offset - 1;
  check_invariants();
}

void TermIndex::check_invariants() const {
  STRAND_ASSERT(!starts_.empty(), "the term of log start - 1 is known");
  STRAND_ASSERT(log_start_offset_ >= 0, "the log start offset is an offset");
  STRAND_ASSERT(last_offset_ >= log_start_offset_ - 1, "the log ends at or after its start");
  STRAND_ASSERT(starts_.front().start_offset <= log_start_offset_ - 1,
                "the first term start covers log start - 1");
  STRAND_ASSERT(starts_.back().start_offset <= std::max(last_offset_, log_start_offset_ - 1),
                "no term starts beyond the log");
  for (std::size_t i = 1; i < starts_.size(); ++i) {
    STRAND_ASSERT(starts_[i - 1].term < starts_[i].term, "terms increase along the log");
    STRAND_ASSERT(starts_[i - 1].start_offset < starts_[i].start_offset, "term starts increase");
  }
}

}  // namespace strand::raft
