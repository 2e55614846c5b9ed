// The term of every offset in a log without holding the log: the offsets at which each term's
// entries start, like Kafka's leader epoch cache. A log of a gigabyte with three leader changes
// is four small items. It also knows the log start offset (entries below it are gone) and the
// last offset, and answers term_at() from one below the log start offset (the prev_term of an
// append starting at the log start) to the last offset.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "broker/raft/ids.h"

namespace strand::raft {

struct TermStart {
  Term term = 0;
  Offset start_offset = 0;  // the first offset of `term`'s entries in this log

  friend bool operator==(const TermStart&, const TermStart&) = default;
};

struct OffsetAndTerm {
  Offset offset = -1;
  Term term = 0;

  friend bool operator==(const OffsetAndTerm&, const OffsetAndTerm&) = default;
};

class TermIndex {
 public:
  // An empty log starting at offset 0; offset -1 has term 0.
  TermIndex();
  // A log restored from disk. `starts` begins with the term covering log_start_offset - 1 (the
  // driver keeps that item in its epoch cache; for log start 0 it is {0, -1}). REQUIRES: starts
  // non-empty, starts[0].start_offset <= log_start_offset - 1, strictly increasing terms and
  // start offsets, starts.back().start_offset <= max(last_offset, log_start_offset - 1), and
  // last_offset >= log_start_offset - 1.
  TermIndex(std::vector<TermStart> starts, Offset log_start_offset, Offset last_offset);

  Offset log_start_offset() const { return log_start_offset_; }
  Offset last_offset() const { return last_offset_; }
  Term last_term() const { return starts_.back().term; }
  bool empty() const { return last_offset_ < log_start_offset_; }

  // Whether term_at(offset) is known: log_start_offset() - 1 <= offset <= last_offset().
  bool covers(Offset offset) const {
    return offset >= log_start_offset_ - 1 && offset <= last_offset_;
  }
  // The term of the entry holding `offset`. REQUIRES: covers(offset).
  Term term_at(Offset offset) const;

  // The largest offset <= `offset` whose term is <= `term`, with its term: where a log that
  // disagrees with this one about `offset` may still agree. Answers log_start_offset() - 1 when
  // nothing known qualifies (the caller cannot go further back). REQUIRES: offset >=
  // log_start_offset() - 1; offsets beyond last_offset() are treated as last_offset().
  OffsetAndTerm find_conflict_by_term(Offset offset, Term term) const;

  // Records an entry [base_offset, last_offset] of `term` at the end of the log. REQUIRES:
  // base_offset == last_offset() + 1, base_offset <= last_offset, term >= last_term().
  void append(Term term, Offset base_offset, Offset last_offset);
  // Forgets every entry at or after `offset`. REQUIRES: log_start_offset() <= offset <=
  // last_offset() + 1.
  void truncate_from(Offset offset);
  // Entries below `offset` are gone; keeps only what term_at(offset - 1) needs. REQUIRES:
  // log_start_offset() <= offset <= last_offset() + 1.
  void advance_start(Offset offset);
  // An empty log starting at `offset` whose offset - 1 has `term` (a follower moved forward past
  // its leader's log start offset). REQUIRES: offset >= log_start_offset().
  void reset(Offset offset, Term term);

  // What a driver stores in its leader epoch cache, and gives back to the constructor.
  std::span<const TermStart> starts() const { return starts_; }

 private:
  void check_invariants() const;

  std::vector<TermStart> starts_;
  Offset log_start_offset_ = 0;
  Offset last_offset_ = -1;
};

}  // namespace strand::raft
