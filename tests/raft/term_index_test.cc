// Invariant: after any sequence of appends, truncations, log start moves and resets, TermIndex
// answers term_at() and find_conflict_by_term() exactly as a model holding every offset's term.
#include "broker/raft/term_index.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <vector>

namespace strand::raft {
namespace {

// The model: the term of every offset from log_start - 1 to the last offset.
struct Model {
  Offset log_start = 0;
  std::vector<Term> terms{0};  // terms[0] is the term of log_start - 1

  Offset last() const { return log_start - 1 + static_cast<Offset>(terms.size()) - 1; }
  Term at(Offset offset) const { return terms[static_cast<std::size_t>(offset - log_start + 1)]; }
};

void check_against(const TermIndex& index, const Model& model) {
  RC_ASSERT(index.log_start_offset() == model.log_start);
  RC_ASSERT(index.last_offset() == model.last());
  RC_ASSERT(index.last_term() == model.terms.back());
  for (Offset o = model.log_start - 1; o <= model.last(); ++o) {
    RC_ASSERT(index.term_at(o) == model.at(o));
    for (Term t = 0; t <= model.terms.back() + 1; ++t) {
      Offset expected = model.log_start - 1;
      for (Offset p = o; p >= model.log_start - 1; --p) {
        if (model.at(p) <= t) {
          expected = p;
          break;
        }
      }
      const OffsetAndTerm found = index.find_conflict_by_term(o, t);
      RC_ASSERT(found.offset == expected);
      RC_ASSERT(found.term == model.at(expected));
    }
  }
}

RC_GTEST_PROP(TermIndexModel, AnswersLikeAPerOffsetModel, ()) {
  TermIndex index;
  Model model;
  const int steps = *rc::gen::inRange(1, 60);
  for (int step = 0; step < steps; ++step) {
    const int op = *rc::gen::inRange(0, 10);
    if (op < 6) {  // append
      const Term term = model.terms.back() + *rc::gen::inRange(0, 2);
      const int count = *rc::gen::inRange(1, 5);
      index.append(term, model.last() + 1, model.last() + count);
      model.terms.insert(model.terms.end(), static_cast<std::size_t>(count), term);
    } else if (op < 8) {  // truncate
      const Offset at = *rc::gen::inRange(model.log_start, model.last() + 2);
      index.truncate_from(at);
      model.terms.resize(static_cast<std::size_t>(at - model.log_start + 1));
    } else if (op < 9) {  // advance start
      const Offset at = *rc::gen::inRange(model.log_start, model.last() + 2);
      index.advance_start(at);
      model.terms.erase(model.terms.begin(),
                        model.terms.begin() + static_cast<std::ptrdiff_t>(at - model.log_start));
      model.log_start = at;
    } else {  // reset (a follower moved forward)
      const Offset at = model.last() + *rc::gen::inRange(1, 5);
      const Term term = model.terms.back() + *rc::gen::inRange(0, 2);
      index.reset(at, term);
      model.log_start = at;
      model.terms = {term};
    }
    check_against(index, model);
  }
  // What the driver stores restores the same index.
  const TermIndex restored({index.starts().begin(), index.starts().end()}, index.log_start_offset(),
                           index.last_offset());
  check_against(restored, model);
}

TEST(TermIndex, KeepsOneItemPerTerm) {
  TermIndex index;
  index.append(1, 0, 99);
  index.append(1, 100, 999);
  index.append(3, 1000, 1000);
  EXPECT_EQ(index.starts().size(), 3u);  // {0,-1}, {1,0}, {3,1000}
  EXPECT_EQ(index.term_at(-1), 0);
  EXPECT_EQ(index.term_at(500), 1);
  EXPECT_EQ(index.term_at(1000), 3);
  EXPECT_EQ(index.find_conflict_by_term(1000, 2), (OffsetAndTerm{999, 1}));
  index.advance_start(600);
  EXPECT_EQ(index.term_at(599), 1);
  EXPECT_EQ(index.starts().size(), 2u);
}

}  // namespace
}  // namespace strand::raft
