#!/usr/bin/python3
"""Time retention: a topic with small segments and retention.ms=1000 loses its old segments within a
few retention checks; ListOffsets earliest moves above 0; a consumer at offset 0 resets to the new
start with auto.offset.reset=earliest and gets OFFSET_OUT_OF_RANGE with auto.offset.reset=error."""

import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
from kafka import KafkaConsumer
from kafka import TopicPartition as KafkaPythonTopicPartition

from broker_fixture import Broker, unique_topic, wait_until

CHECK_INTERVAL_MS = 200
RETENTION_MS = 1000
SEGMENT_BYTES = 4096
OLD_RECORDS = 400        # ~100 KB: about 25 segments
NEW_RECORDS = 40
FUTURE_MS = 300_000      # phase-two timestamps: five minutes ahead, so they outlive the test


def produce(bootstrap, topic, first, count, timestamp_ms=None):
    # Batches must fit in a segment (Kafka rejects larger ones), so keep them well under it.
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5,
                         "batch.size": SEGMENT_BYTES // 2})
    acked = {}

    def report(error, message):
        assert error is None, f"delivery failed: {error}"
        acked[message.offset()] = message.value()

    for i in range(first, first + count):
        value = f"record-{i:05d}-".encode() + b"x" * 200
        if timestamp_ms is None:
            producer.produce(topic, key=b"k", value=value, partition=0, on_delivery=report)
        else:
            producer.produce(topic, key=b"k", value=value, partition=0, timestamp=timestamp_ms,
                             on_delivery=report)
        producer.poll(0)
    assert producer.flush(20) == 0, f"{topic}: records undelivered"
    assert len(acked) == count, f"{topic}: {len(acked)} of {count} acked"
    return acked


def watermarks(bootstrap, topic):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-assign-only"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    finally:
        consumer.close()


def consume_from_zero(bootstrap, topic, reset, want_count, timeout_s=15):
    """Assigns offset 0 with the given auto.offset.reset; returns (messages, errors)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-assign-only",
                         "enable.auto.commit": False, "auto.offset.reset": reset})
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        got, errors = [], []
        deadline = time.monotonic() + timeout_s
        while len(got) < want_count and not errors and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                errors.append(message.error())
            else:
                got.append(message)
        return got, errors
    finally:
        consumer.close()


def check_topic_configs(admin, topic):
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
    entries = admin.describe_configs([resource])[resource].result(timeout=10)
    got = {name: entries[name].value for name in ("retention.ms", "segment.bytes")}
    want = {"retention.ms": str(RETENTION_MS), "segment.bytes": str(SEGMENT_BYTES)}
    assert got == want, f"{topic}: DescribeConfigs says {got}, want {want}"


def main():
    settings = {"log.retention.check.interval.ms": CHECK_INTERVAL_MS}
    with Broker(settings=settings, name="retention") as broker:
        bootstrap = broker.bootstrap
        topic = unique_topic("retention")
        admin = AdminClient({"bootstrap.servers": bootstrap})
        configs = {"retention.ms": str(RETENTION_MS), "segment.bytes": str(SEGMENT_BYTES),
                   "cleanup.policy": "delete"}
        for future in admin.create_topics([NewTopic(topic, 1, 1, config=configs)]).values():
            future.result(timeout=20)
        check_topic_configs(admin, topic)
        del admin

        acked = produce(bootstrap, topic, 0, OLD_RECORDS)
        last_old_ms = time.time() * 1000
        low = wait_until(lambda: watermarks(bootstrap, topic)[0] or None, 15,
                         "ListOffsets earliest to move above 0")
        print(f"log start offset moved to {low} after retention")
        # Let every segment holding only old records expire and be deleted, then add records
        # stamped in the future so the log keeps a readable tail whatever the broker does with
        # its active segment.
        time.sleep(max(0.0, (last_old_ms + RETENTION_MS + 3 * CHECK_INTERVAL_MS) / 1000
                       - time.time()))
        acked.update(produce(bootstrap, topic, OLD_RECORDS, NEW_RECORDS,
                             timestamp_ms=int(time.time() * 1000) + FUTURE_MS))
        time.sleep(3 * CHECK_INTERVAL_MS / 1000)
        low, high = watermarks(bootstrap, topic)
        assert 0 < low <= OLD_RECORDS and high == OLD_RECORDS + NEW_RECORDS, (
            f"{topic}: watermarks ({low}, {high}) after retention, want 0 < low <= {OLD_RECORDS} "
            f"and high {OLD_RECORDS + NEW_RECORDS}")

        python_consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
        tp = KafkaPythonTopicPartition(topic, 0)
        earliest = python_consumer.beginning_offsets([tp])[tp]
        python_consumer.close()
        assert earliest == low, f"kafka-python beginning_offsets {earliest}, confluent low {low}"

        got, errors = consume_from_zero(bootstrap, topic, "earliest", high - low)
        assert not errors, f"{topic}: reset=earliest consumer got errors {errors}"
        offsets = [m.offset() for m in got]
        assert offsets == list(range(low, high)), (
            f"{topic}: from offset 0 with reset=earliest read offsets "
            f"{offsets[:3]}..{offsets[-3:]}, want {low}..{high - 1}")
        wrong = [m.offset() for m in got if m.value() != acked[m.offset()]]
        assert not wrong, f"{topic}: records at offsets {wrong[:5]} differ from what was acked"
        print(f"reset=earliest from offset 0 read {low}..{high - 1}")

        got, errors = consume_from_zero(bootstrap, topic, "error", 1)
        codes = [e.code() for e in errors]
        assert not got and codes and codes[0] == KafkaError._AUTO_OFFSET_RESET, (
            f"{topic}: reset=error consumer at offset 0 got {len(got)} records and errors "
            f"{errors}, want _AUTO_OFFSET_RESET (offset out of range)")
        assert "out of range" in errors[0].str().lower(), f"error says {errors[0].str()!r}"
        print(f"reset=error from offset 0: {errors[0].str()}")

        broker.assert_no_crash()
        broker.stop()
    print("retention_test: ok")


if __name__ == "__main__":
    sys.exit(main())
