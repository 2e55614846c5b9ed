// Kafka's rules for topic names, as org.apache.kafka.common.internals.Topic applies them, so
// Strand refuses exactly the names a Kafka broker refuses.
#pragma once

#include <cstddef>
#include <string_view>

#include "io/result.h"

namespace strand::protocol {

// Kafka's limit: a partition's directory, "<topic>-<partition>", must fit a 255-byte file name.
inline constexpr std::size_t kTopicNameBytesMax = 249;

// ok if `name` is a legal topic name: not empty, not "." or "..", at most kTopicNameBytesMax
// bytes, and only ASCII letters, digits, '.', '_' and '-'. Otherwise a kInvalid error whose message
// says what is wrong, with non-printable bytes shown as \xHH; the caller answers
// INVALID_TOPIC_EXCEPTION with it.
io::Result<void> validate_topic_name(std::string_view name);

// True if the names are equal once every '.' is read as '_': Kafka's metric names can't tell
// such topics apart, so creating one next to the other is refused. Equal names collide too.
bool topic_names_collide(std::string_view a, std::string_view b);

// True for the topics the broker owns (__consumer_offsets, __transaction_state), which clients
// may not create or delete.
bool is_internal_topic(std::string_view name);

}  // namespace strand::protocol
