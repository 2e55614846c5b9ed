#!/usr/bin/python3
"""Idempotent producers against strand-broker: InitProducerId hands out distinct producer ids (and
refuses transactional ids: transactions are not supported); a batch sent again with the same
producer id and sequence is answered with the offset it got the first time and stored once, also
after the broker was killed with SIGKILL (the producer state is rebuilt from the log); a gap in the
sequence gets OUT_OF_ORDER_SEQUENCE_NUMBER and an older epoch INVALID_PRODUCER_EPOCH, and neither
is stored; confluent-kafka with enable.idempotence=true writes every record exactly once; a
producer silent for producer.id.expiration.ms is forgotten (its retried batch is stored again as
a new producer's), one still writing is not."""

import struct
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from bad_input_test import Connection, latest_offset, produce_raw, record_batch, string
from broker_fixture import Broker, Checks, unique_topic

API_INIT_PRODUCER_ID = 22
OUT_OF_ORDER_SEQUENCE_NUMBER, INVALID_PRODUCER_EPOCH, INVALID_REQUEST = 45, 47, 42


def init_producer_id(broker, transactional_id=None):
    """(error_code, producer_id, epoch) of an InitProducerId v1 request."""
    conn = Connection(broker)
    try:
        reader = conn.request(API_INIT_PRODUCER_ID, 1,
                              string(transactional_id) + struct.pack(">i", 60000))
        _, error, producer_id, epoch = reader.take(">ihqh")
        return error, producer_id, epoch
    finally:
        conn.close()


def create_topic(broker, topic, partitions=1):
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    admin.create_topics([NewTopic(topic, partitions, 1)])[topic].result(10)


def records(tag, count):
    return [(f"k{i}".encode(), f"{tag}-{i}".encode()) for i in range(count)]


def check_producer_ids(broker):
    first = init_producer_id(broker)
    second = init_producer_id(broker)
    assert first[0] == 0 and second[0] == 0, (first, second)
    assert first[1] >= 0 and second[1] >= 0 and first[1] != second[1], (first, second)
    assert first[2] == 0 and second[2] == 0, (first, second)
    refused = init_producer_id(broker, "a-transaction")
    assert refused[0] == INVALID_REQUEST, refused
    return f"producer ids {first[1]} and {second[1]}; a transactional id gets INVALID_REQUEST"


def check_sequences(broker):
    topic = unique_topic("idempotent")
    create_topic(broker, topic)
    _, producer_id, _ = init_producer_id(broker)
    first = record_batch(records("a", 3), producer=(producer_id, 0, 0))
    error, base = produce_raw(broker, topic, 0, first)
    assert (error, base) == (0, 0), (error, base)
    again = produce_raw(broker, topic, 0, first)
    assert again == (0, 0), f"a retried batch is answered with its first offset: {again}"
    assert latest_offset(broker, topic, 0) == 3, "and stored once"
    second = record_batch(records("b", 2), producer=(producer_id, 0, 3))
    assert produce_raw(broker, topic, 0, second) == (0, 3)
    gap = record_batch(records("c", 1), producer=(producer_id, 0, 9))
    assert produce_raw(broker, topic, 0, gap)[0] == OUT_OF_ORDER_SEQUENCE_NUMBER
    bumped = record_batch(records("d", 2), producer=(producer_id, 1, 0))
    assert produce_raw(broker, topic, 0, bumped) == (0, 5), "a new epoch starts at sequence 0"
    fenced = record_batch(records("e", 1), producer=(producer_id, 0, 5))
    assert produce_raw(broker, topic, 0, fenced)[0] == INVALID_PRODUCER_EPOCH
    assert latest_offset(broker, topic, 0) == 7, "refused batches are not stored"
    # SIGKILL: the producer state comes back from the log.
    broker.kill()
    broker.restart()
    assert produce_raw(broker, topic, 0, bumped) == (0, 5), "the retry after a restart"
    assert produce_raw(broker, topic, 0, second)[0] == INVALID_PRODUCER_EPOCH, "epoch 1 is known"
    assert latest_offset(broker, topic, 0) == 7
    after = record_batch(records("f", 1), producer=(producer_id, 1, 2))
    assert produce_raw(broker, topic, 0, after) == (0, 7)
    return "duplicates answered with their first offset (also after kill -9); gaps and old epochs refused"


def check_producer_expiration(broker):
    """The broker runs with producer.id.expiration.ms 3000, checked every 500 ms."""
    topic = unique_topic("expiring")
    create_topic(broker, topic)
    _, silent, _ = init_producer_id(broker)
    _, busy, _ = init_producer_id(broker)
    now_ms = int(time.time() * 1000)
    first = record_batch(records("s", 2), now_ms, producer=(silent, 0, 0))
    assert produce_raw(broker, topic, 0, first) == (0, 0)
    sequence = 0
    deadline = time.time() + 6
    while time.time() < deadline:  # `busy` writes all along, with current timestamps
        batch = record_batch(records("b", 1), int(time.time() * 1000), producer=(busy, 0, sequence))
        assert produce_raw(broker, topic, 0, batch)[0] == 0
        sequence += 1
        time.sleep(0.25)
    end = latest_offset(broker, topic, 0)
    retried = produce_raw(broker, topic, 0, first)
    assert retried == (0, end), f"the expired producer's retry is a new batch: {retried}"
    following = record_batch(records("f", 1), producer=(silent, 0, 2))
    assert produce_raw(broker, topic, 0, following) == (0, end + 2), "then it goes on as before"
    old = record_batch(records("b", 1), producer=(busy, 0, sequence - 1))
    error, base = produce_raw(broker, topic, 0, old)
    assert error == 0 and base < end, f"the busy producer's retry is still a duplicate: {base}"
    gap = record_batch(records("x", 1), producer=(busy, 0, sequence + 5))
    assert produce_raw(broker, topic, 0, gap)[0] == OUT_OF_ORDER_SEQUENCE_NUMBER
    return (f"a producer silent for 3 s forgotten (its retry stored again at {end}); "
            f"one writing every 250 ms kept ({sequence} batches)")


def check_confluent_kafka_exactly_once(broker):
    topic = unique_topic("idempotent-ck")
    create_topic(broker, topic, 3)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "enable.idempotence": True,
                         "linger.ms": 2})
    failures = []
    for i in range(3000):
        producer.produce(topic, key=f"k{i % 97}", value=f"v{i}",
                         on_delivery=lambda error, _: error and failures.append(str(error)))
        if i % 500 == 0:
            producer.poll(0)
    assert producer.flush(30) == 0 and not failures, failures[:3]
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": topic,
                         "enable.partition.eof": True, "auto.offset.reset": "earliest"})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(3)])
    values, ends = [], 0
    while ends < 3:
        message = consumer.poll(10)
        assert message is not None, f"{len(values)} records read, then nothing"
        if message.error():
            ends += 1
            continue
        values.append(message.value().decode())
    consumer.close()
    assert len(values) == 3000 and len(set(values)) == 3000, (len(values), len(set(values)))
    return "3000 records with enable.idempotence=true, each stored once"


def main():
    with Broker() as broker:
        checks = Checks("idempotent_producer", broker)
        checks.run("InitProducerId", check_producer_ids, broker)
        checks.run("sequences: duplicates, gaps, epochs, kill -9", check_sequences, broker)
        checks.run("confluent-kafka enable.idempotence", check_confluent_kafka_exactly_once,
                   broker)
        broker.assert_no_crash()
        broker.stop()
    settings = {"producer.id.expiration.ms": "3000", "log.retention.check.interval.ms": "500"}
    with Broker(settings=settings, name="expiring") as broker:
        checks.broker = broker
        checks.run("producer.id.expiration.ms", check_producer_expiration, broker)
        broker.assert_no_crash()
        broker.stop()
    return checks.exit_status()


if __name__ == "__main__":
    sys.exit(main())
