#!/usr/bin/python3
"""Acknowledged means durable: a producer (acks=all) runs while the broker is SIGKILLed part way
(three times) and restarted on the same data dir and port. Afterwards every acknowledged record is
at exactly its acknowledged offset, acknowledged records keep their per-partition order, the log is
gapless and passes CRC checks, and only records in flight at a kill (produced before it,
acknowledged after it) may appear twice. A clean SIGTERM restart then keeps the log exactly."""

import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from broker_fixture import Broker, unique_topic

PARTITIONS = 3
RECORDS = 3000
KILL_AFTER_ACKS = (600, 1500, 2400)
CHUNK = 10           # records produced per tick
TICK_S = 0.008       # pacing, so the kill lands while records are in flight
DOWN_S = 0.5         # how long the broker stays dead


class Run:
    def __init__(self):
        self.acked = {}          # value -> (partition, offset, key)
        self.failed = {}         # value -> error
        self.ack_order = []      # values in the order their acks arrived
        self.kills = 0
        self.produced_epoch = {}  # value -> kills before it was produced
        self.acked_epoch = {}     # value -> kills before its ack arrived

    def on_delivery(self, error, message):
        value = message.value().decode()
        if error is not None:
            self.failed[value] = str(error)
            return
        assert value not in self.acked, f"two delivery reports for {value}"
        self.acked[value] = (message.partition(), message.offset(), message.key().decode())
        self.ack_order.append(value)
        self.acked_epoch[value] = self.kills

    def in_flight_at_a_kill(self, value):
        return self.produced_epoch[value] < self.acked_epoch[value]


def produce_through_kill(broker, topic):
    run = Run()
    # One request in flight per connection keeps acknowledged records in send order across the
    # retries (there is no idempotent producer without InitProducerId).
    producer = Producer({"bootstrap.servers": broker.bootstrap, "acks": "all",
                         "linger.ms": 5, "max.in.flight.requests.per.connection": 1,
                         "enable.idempotence": False, "message.timeout.ms": 45000,
                         "retries": 1000000, "retry.backoff.ms": 100,
                         "reconnect.backoff.ms": 50, "reconnect.backoff.max.ms": 500,
                         "socket.connection.setup.timeout.ms": 2000})
    sent = 0
    while sent < RECORDS:
        for i in range(sent, min(sent + CHUNK, RECORDS)):
            value = f"v{i:05d}"
            run.produced_epoch[value] = run.kills
            producer.produce(topic, key=f"key-{i % 37}".encode(), value=value.encode(),
                             on_delivery=run.on_delivery)
        sent = min(sent + CHUNK, RECORDS)
        producer.poll(TICK_S)
        if run.kills < len(KILL_AFTER_ACKS) and len(run.acked) >= KILL_AFTER_ACKS[run.kills]:
            run.kills += 1
            broker.kill()
            print(f"SIGKILL #{run.kills} after {len(run.acked)} acks, {sent} records produced")
            time.sleep(DOWN_S)
            broker.restart()
    left = producer.flush(60)
    assert run.kills == len(KILL_AFTER_ACKS), (
        f"only {run.kills} kills: acks outran the producer; tune the pacing")
    assert left == 0, f"{left} records still unacknowledged 60 s after the last produce"
    assert not run.failed, (f"{len(run.failed)} deliveries failed, e.g. "
                            f"{list(run.failed.items())[:3]}")
    assert len(run.acked) == RECORDS, f"{len(run.acked)} of {RECORDS} records acknowledged"
    return run


def read_log(bootstrap, topic):
    """partition -> list of (offset, key, value) from offset 0 to the high watermark."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused-assign-only",
                         "enable.auto.commit": False, "check.crcs": True,
                         "enable.partition.eof": True, "auto.offset.reset": "error"})
    try:
        highs = {}
        for p in range(PARTITIONS):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            assert low == 0, f"{topic}[{p}]: log start offset {low}, want 0 (no retention)"
            highs[p] = high
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        log = {p: [] for p in range(PARTITIONS)}
        at_end = {p for p in range(PARTITIONS) if highs[p] == 0}
        deadline = time.monotonic() + 30
        while len(at_end) < PARTITIONS and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    if message.offset() >= highs[message.partition()]:
                        at_end.add(message.partition())
                    continue
                raise AssertionError(f"{topic}: consumer error {message.error()} (corrupt log?)")
            log[message.partition()].append(
                (message.offset(), message.key().decode(), message.value().decode()))
        assert len(at_end) == PARTITIONS, (
            f"{topic}: read {[len(v) for v in log.values()]} records, high watermarks {highs}")
        return log, highs
    finally:
        consumer.close()


def check_log(run, log, highs):
    problems = []
    copies = {}
    for p, entries in log.items():
        offsets = [offset for offset, _, _ in entries]
        if offsets != list(range(highs[p])):
            gaps = sorted(set(range(highs[p])) - set(offsets))
            problems.append(f"partition {p}: offsets not 0..{highs[p] - 1}; missing {gaps[:10]}")
        for offset, key, value in entries:
            copies.setdefault(value, []).append((p, offset, key))
    for value, (p, offset, key) in run.acked.items():
        if (p, offset, key) not in copies.get(value, []):
            at = dict(((q, o), v) for q, es in log.items() for o, _, v in es).get((p, offset))
            problems.append(f"acked {value} ({key}) at {p}@{offset}, log has {at!r} there")
    unknown = [v for v in copies if v not in run.acked]
    if unknown:
        problems.append(f"log holds records never sent or never acked: {unknown[:5]}")
    duplicated = {v: c for v, c in copies.items() if len(c) > 1}
    bad_duplicates = [v for v in duplicated if not run.in_flight_at_a_kill(v)]
    if bad_duplicates:
        problems.append(f"records never in flight at a kill appear twice: "
                        f"{[(v, duplicated[v]) for v in bad_duplicates[:5]]}")
    for p in range(PARTITIONS):
        acked_here = [run.acked[v][1] for v in run.ack_order if run.acked[v][0] == p]
        sent_order = sorted((v for v in run.acked if run.acked[v][0] == p),
                            key=lambda v: run.acked[v][1])
        if acked_here != sorted(acked_here) or sent_order != sorted(sent_order):
            problems.append(f"partition {p}: acknowledged records out of order")
    assert not problems, "log after SIGKILL:\n  " + "\n  ".join(problems[:20])
    return duplicated


def main():
    with Broker(name="kill9") as broker:
        topic = unique_topic("kill9")
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        for future in admin.create_topics([NewTopic(topic, PARTITIONS, 1)]).values():
            future.result(timeout=20)
        del admin
        started = time.monotonic()
        run = produce_through_kill(broker, topic)
        log, highs = read_log(broker.bootstrap, topic)
        duplicated = check_log(run, log, highs)
        in_flight = sum(1 for v in run.acked if run.in_flight_at_a_kill(v))
        print(f"{len(run.acked)} acked ({in_flight} of them in flight at a kill), "
              f"{sum(highs.values())} in the log, {len(duplicated)} duplicated "
              f"(all in flight at a kill), no gaps, CRCs ok, "
              f"{time.monotonic() - started:.1f} s")
        broker.assert_no_crash()

        broker.stop()
        broker.restart()
        again, highs_again = read_log(broker.bootstrap, topic)
        assert highs_again == highs, f"high watermarks {highs} became {highs_again} after SIGTERM"
        for p in range(PARTITIONS):
            assert again[p] == log[p], (
                f"partition {p} changed across a clean restart: first difference at "
                f"{next((a, b) for a, b in zip(log[p] + [None], again[p] + [None]) if a != b)}")
        print("clean SIGTERM restart keeps the log byte-for-byte")
        broker.assert_no_crash()
        broker.stop()
    print("kill9_test: ok")


if __name__ == "__main__":
    sys.exit(main())
