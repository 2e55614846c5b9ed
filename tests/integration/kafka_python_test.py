#!/usr/bin/python3
"""kafka-python against strand-broker: admin create/delete topics and their errors, keyed records
with headers in every codec kafka-python has modules for, read back byte-exact with assign(), seek,
offsets_for_times, beginning/end offsets, and topic auto-creation on metadata."""

import random
import sys
import time

import kafka.codec
import kafka.errors
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from broker_fixture import Broker, Checks, unique_topic, wait_until

PARTITIONS = 3
DEFAULT_PARTITIONS = 2  # num.partitions, what auto-created topics get
RECORDS_PER_CODEC = 60
AVAILABLE = {"gzip": kafka.codec.has_gzip, "snappy": kafka.codec.has_snappy,
             "lz4": kafka.codec.has_lz4, "zstd": kafka.codec.has_zstd}


def codecs():
    usable = [None] + [name for name, present in AVAILABLE.items() if present()]
    missing = [name for name, present in AVAILABLE.items() if not present()]
    if missing:
        print(f"note: kafka-python lacks modules for {missing}; not testing those codecs")
    return usable


def make_records(seed, count):
    rng = random.Random(seed)
    records = []
    for i in range(count):
        key = f"k{i % 13}".encode()
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(80)))
        value = f"{seed}-{i}:".encode() + noise
        value += b"repeat " * rng.randrange(10)
        headers = [("h1", f"{i}".encode()), ("bin", bytes([0, 255, i % 256])), ("empty", b"")]
        records.append((key, value, headers))
    records.append((b"null-value-key", None, []))
    return records


def consume_all(bootstrap, topic, partitions, want_count, timeout_s=20):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             group_id=None, consumer_timeout_ms=1000)
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        got = []
        deadline = time.monotonic() + timeout_s
        while len(got) < want_count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                got.extend(batch)
        return got
    finally:
        consumer.close()


def check_admin_errors(admin, topic):
    try:
        admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
        raise AssertionError(f"creating existing topic {topic} succeeded; want TopicAlreadyExists")
    except kafka.errors.TopicAlreadyExistsError:
        pass
    try:
        admin.create_topics([NewTopic("bad name!", 1, 1)])
        raise AssertionError("creating topic 'bad name!' succeeded; want InvalidTopicError")
    except kafka.errors.InvalidTopicError:
        pass


def check_codec(bootstrap, admin, codec, seed):
    topic = unique_topic(f"kp-{codec or 'none'}")
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", compression_type=codec,
                             linger_ms=20)
    records = make_records(seed, RECORDS_PER_CODEC)
    futures = [producer.send(topic, key=k, value=v, headers=h) for k, v, h in records]
    producer.flush(timeout=20)
    acked = [f.get(timeout=10) for f in futures]
    producer.close()
    got = consume_all(bootstrap, topic, range(PARTITIONS), len(records))
    assert len(got) == len(records), f"{topic}: consumed {len(got)} of {len(records)} records"
    placed = {(m.partition, m.offset): (r, m) for r, m in zip(records, acked)}
    assert len(placed) == len(records), f"{topic}: two acks share a (partition, offset)"
    for record in got:
        (key, value, headers), meta = placed.get((record.partition, record.offset), (None, None))
        assert meta is not None, f"{topic}: consumed unacknowledged {record}"
        assert (record.key, record.value) == (key, value), (
            f"{topic}[{record.partition}]@{record.offset}: got key {record.key!r} value "
            f"{record.value!r}, sent {key!r} {value!r}")
        assert list(record.headers) == headers, (
            f"{topic}[{record.partition}]@{record.offset}: headers {record.headers}, "
            f"sent {headers}")
        assert record.timestamp == meta.timestamp, (
            f"{topic}[{record.partition}]@{record.offset}: timestamp {record.timestamp}, "
            f"producer's {meta.timestamp}")
    for p in range(PARTITIONS):
        offsets = [r.offset for r in got if r.partition == p]
        assert offsets == list(range(len(offsets))), f"{topic}[{p}]: offsets {offsets}"
    return topic, got


def check_offsets(bootstrap, topic, got):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        begin = consumer.beginning_offsets(tps)
        end = consumer.end_offsets(tps)
        for tp in tps:
            count = sum(1 for r in got if r.partition == tp.partition)
            assert begin[tp] == 0 and end[tp] == count, (
                f"{tp}: beginning {begin[tp]} end {end[tp]}, want 0 and {count}")
        tp = max(tps, key=lambda t: end[t])
        here = [r for r in got if r.partition == tp.partition]
        consumer.assign([tp])
        for start in (3, len(here) - 1, 0):
            consumer.seek(tp, start)
            records = consumer.poll(timeout_ms=5000).get(tp, [])
            want = here[start:start + len(records)]
            assert records and [(r.offset, r.value) for r in records] == \
                [(r.offset, r.value) for r in want], (
                f"seek({tp}, {start}): got offsets {[r.offset for r in records]}")
        return topic
    finally:
        consumer.close()


def check_offsets_for_times(bootstrap, admin):
    """Two batches 100 ms apart: the first timestamp of the second batch finds that record's offset
    and, as Kafka answers, that record's timestamp; a time past the end finds nothing (None)."""
    topic = unique_topic("kp-times")
    admin.create_topics([NewTopic(topic, 1, 1)])
    tp = TopicPartition(topic, 0)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    base_ms = int(time.time() * 1000) - 60_000
    metas = []
    for i in range(20):
        # Explicit timestamps, each one 10 ms apart, make the expected answers exact.
        metas.append(producer.send(topic, key=b"t", value=str(i).encode(),
                                   timestamp_ms=base_ms + 10 * i).get(timeout=10))
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        cases = {base_ms - 1: (0, base_ms), base_ms: (0, base_ms),
                 base_ms + 55: (6, base_ms + 60), base_ms + 190: (19, base_ms + 190)}
        failures = []
        for target, (offset, timestamp) in cases.items():
            found = consumer.offsets_for_times({tp: target})[tp]
            if found is None or (found.offset, found.timestamp) != (offset, timestamp):
                failures.append(f"offsets_for_times({target - base_ms:+} ms): got {found}, want "
                                f"offset {offset} timestamp {timestamp}")
        past = consumer.offsets_for_times({tp: base_ms + 10_000})[tp]
        if past is not None:
            failures.append(f"offsets_for_times(after the last record): got {past}, want None")
        consumer.assign([tp])
        found = consumer.offsets_for_times({tp: base_ms + 100})[tp]
        consumer.seek(tp, found.offset)
        first = consumer.poll(timeout_ms=5000).get(tp, [])
        if not first or first[0].offset != 10 or first[0].timestamp != base_ms + 100:
            failures.append(f"seek to offsets_for_times(+100 ms): first record {first[:1]}")
        assert not failures, f"{topic}:\n  " + "\n  ".join(failures)
        return topic
    finally:
        consumer.close()


def check_auto_create(bootstrap):
    topic = unique_topic("kp-auto")
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    meta = producer.send(topic, key=b"a", value=b"auto").get(timeout=20)
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        partitions = wait_until(lambda: consumer.partitions_for_topic(topic), 10,
                                f"metadata for auto-created {topic}")
        assert partitions == set(range(DEFAULT_PARTITIONS)), (
            f"auto-created {topic} has partitions {partitions}, want num.partitions="
            f"{DEFAULT_PARTITIONS}")
    finally:
        consumer.close()
    got = consume_all(bootstrap, topic, [meta.partition], 1)
    assert [(r.offset, r.value) for r in got] == [(meta.offset, b"auto")], f"{topic}: got {got}"
    return topic


def check_delete(admin, topics):
    admin.delete_topics(topics)
    remaining = wait_until(lambda: not set(topics) & set(admin.list_topics()) or None, 10,
                           f"deleted topics {topics} to leave list_topics")
    assert remaining
    try:
        admin.delete_topics([topics[0]])
        raise AssertionError(f"deleting deleted topic {topics[0]} succeeded")
    except kafka.errors.UnknownTopicOrPartitionError:
        pass
    return f"{len(topics)} topics"


def main():
    checks = Checks("kafka_python_test")
    settings = {"num.partitions": DEFAULT_PARTITIONS}
    with Broker(settings=settings, name="kafka-python") as broker:
        checks.broker = broker
        bootstrap = broker.bootstrap
        admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        topics = []
        for seed, codec in enumerate(codecs()):
            produced = checks.run(f"codec {codec or 'none'}: records byte-exact with headers",
                                  check_codec, bootstrap, admin, codec, seed)
            if produced is not None:
                topics.append(produced[0])
                if len(topics) == 1:
                    checks.run("beginning/end offsets and seek", check_offsets, bootstrap,
                               *produced)
        if topics:
            checks.run("TopicAlreadyExists and InvalidTopic errors", check_admin_errors, admin,
                       topics[0])
        checks.run("auto-create on metadata", check_auto_create, bootstrap)
        checks.run("offsets_for_times", check_offsets_for_times, bootstrap, admin)
        if topics:
            checks.run("delete_topics", check_delete, admin, topics)
        admin.close()
        checks.run("broker alive, no crash in its log", broker.assert_no_crash)
        broker.stop()
    return checks.exit_status()


if __name__ == "__main__":
    sys.exit(main())
