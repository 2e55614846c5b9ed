// Kafka's wire error codes as Strand's error values: what a client does with a broker's refusal.
#pragma once

#include <cstdint>
#include <string_view>

#include "io/result.h"

namespace strand::client {

// Kafka's name for an error code ("UNKNOWN_TOPIC_OR_PARTITION"), or "UNKNOWN_ERROR_CODE".
std::string_view error_code_name(std::int16_t code);

// A Kafka error code as a value: the message starts with the code's name, then `context`. The
// kind is the closest io::ErrorKind (kNotFound for an unknown topic or group, kExists for one that
// already exists, kOutOfRange, kTimeout, kCorrupt, kInvalid for refused arguments, else kIoError).
// REQUIRES: code != 0.
io::Error kafka_error(std::int16_t code, std::string_view context);

// Whether `error` was made by kafka_error from `code`.
bool has_kafka_code(const io::Error& error, std::int16_t code);

// Whether a request that failed with `error` may succeed when sent again: a lost or timed-out
// connection, or a Kafka error the broker calls retriable (a moved or unavailable leader, too few
// in-sync replicas, a storage error, REQUEST_TIMED_OUT, a corrupt message in transit).
bool is_retriable(const io::Error& error);

}  // namespace strand::client
