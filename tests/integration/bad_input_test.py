#!/usr/bin/python3
"""Bad input from the network is an error code or a closed connection, never a crash: absurd frame
sizes, truncated requests, unknown API keys and versions, fuzzed frames and corrupt record batches,
while another client keeps producing. Also UNKNOWN_TOPIC_OR_PARTITION with auto-creation off,
CORRUPT_MESSAGE for a bad CRC (nothing stored), and __consumer_offsets kept from clients."""

import random
import selectors
import socket
import struct
import sys
import threading
import time

from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from broker_fixture import Broker, Checks, unique_topic

API_PRODUCE, API_FETCH, API_LIST_OFFSETS, API_METADATA = 0, 1, 2, 3
API_DESCRIBE_CONFIGS, API_API_VERSIONS = 32, 18
UNKNOWN_TOPIC_OR_PARTITION, CORRUPT_MESSAGE, RECORD_LIST_TOO_LARGE = 3, 2, 18
UNSUPPORTED_VERSION = 35
INVALID_TOPIC_EXCEPTION = 17
OFFSETS_TOPIC = "__consumer_offsets"
IO_TIMEOUT_S = 5
FUZZ_SEED = 20240611
FUZZ_FRAMES = 5000


# -- wire encoding ---------------------------------------------------------------------------------

def string(text):
    if text is None:
        return struct.pack(">h", -1)
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def array(items):
    return struct.pack(">i", len(items)) + b"".join(items)


def varint(value):
    zigzag = (value << 1) ^ (value >> 63)
    out = bytearray()
    while True:
        byte = zigzag & 0x7F
        zigzag >>= 7
        if zigzag:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC32C_TABLE = _crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc = CRC32C_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def record_batch(records, timestamp_ms=None, producer=(-1, -1, -1)):
    """A magic-2 batch (no compression) of (key, value) pairs; producer is the idempotent
    producer's (id, epoch, base sequence), none by default."""
    timestamp_ms = timestamp_ms or int(time.time() * 1000)
    producer_id, producer_epoch, base_sequence = producer
    body = b""
    for delta, (key, value) in enumerate(records):
        record = b"\x00" + varint(0) + varint(delta)
        record += varint(len(key)) + key + varint(len(value)) + value + varint(0)
        body += varint(len(record)) + record
    after_crc = struct.pack(">hiqqqhii", 0, len(records) - 1, timestamp_ms, timestamp_ms,
                            producer_id, producer_epoch, base_sequence, len(records)) + body
    after_length = struct.pack(">ib", -1, 2) + struct.pack(">I", crc32c(after_crc)) + after_crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


CRC_POSITION = 17  # baseOffset 8, batchLength 4, partitionLeaderEpoch 4, magic 1


def produce_v3(topic, partition, batch):
    body = string(None) + struct.pack(">hi", -1, 10000)
    body += array([string(topic) + array([struct.pack(">i", partition) +
                                          struct.pack(">i", len(batch)) + batch])])
    return API_PRODUCE, 3, body


def list_offsets_v1(topic, partition, timestamp):
    return API_LIST_OFFSETS, 1, struct.pack(">i", -1) + array(
        [string(topic) + array([struct.pack(">iq", partition, timestamp)])])


def metadata_v8(topics, allow_auto_create):
    return API_METADATA, 8, array([string(t) for t in topics]) + struct.pack(
        ">???", allow_auto_create, False, False)


def frame(api_key, version, body, correlation_id, flexible_header=False):
    header = struct.pack(">hhi", api_key, version, correlation_id) + string("bad-input-test")
    if flexible_header:
        header += b"\x00"  # no tagged fields
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values if len(values) > 1 else values[0]

    def string(self):
        length = self.take(">h")
        if length < 0:
            return None
        text = self.data[self.pos:self.pos + length].decode()
        self.pos += length
        return text


# -- connections -----------------------------------------------------------------------------------

class Connection:
    def __init__(self, broker):
        self.sock = socket.create_connection((broker.host, broker.port), timeout=IO_TIMEOUT_S)
        self.correlation_id = 0

    def send_raw(self, data):
        self.sock.sendall(data)

    def request(self, api_key, version, body, flexible_header=False):
        """Sends one request and returns the response body after the correlation id."""
        self.correlation_id += 1
        self.sock.sendall(frame(api_key, version, body, self.correlation_id, flexible_header))
        size = struct.unpack(">i", self.read_exactly(4))[0]
        payload = self.read_exactly(size)
        correlation_id = struct.unpack_from(">i", payload)[0]
        assert correlation_id == self.correlation_id, (
            f"response correlation id {correlation_id}, want {self.correlation_id}")
        return Reader(payload[4:])

    def read_exactly(self, count):
        data = b""
        while len(data) < count:
            chunk = self.sock.recv(count - len(data))
            if not chunk:
                raise AssertionError(f"connection closed after {len(data)} of {count} bytes")
            data += chunk
        return data

    def closed_by_broker(self, timeout_s=IO_TIMEOUT_S):
        """True when the broker closes (EOF or reset) within timeout_s, discarding any bytes."""
        self.sock.settimeout(timeout_s)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def latest_offset(broker, topic, partition):
    conn = Connection(broker)
    try:
        reader = conn.request(*list_offsets_v1(topic, partition, -1))
        assert reader.take(">i") == 1 and reader.string() == topic and reader.take(">i") == 1
        index, error, _, offset = reader.take(">ihqq")
        assert (index, error) == (partition, 0), f"ListOffsets {topic}[{partition}] error {error}"
        return offset
    finally:
        conn.close()


def produce_raw(broker, topic, partition, batch):
    """(error_code, base_offset) of a Produce v3 request holding batch."""
    conn = Connection(broker)
    try:
        reader = conn.request(*produce_v3(topic, partition, batch))
        assert reader.take(">i") == 1 and reader.string() == topic and reader.take(">i") == 1
        index, error, base_offset, _ = reader.take(">ihqq")
        assert index == partition
        return error, base_offset
    finally:
        conn.close()


# -- checks ----------------------------------------------------------------------------------------

def check_absurd_frame_sizes(broker):
    for size in (0x7FFFFFFF, -1, -0x80000000, 0x7FFFFFF0):
        conn = Connection(broker)
        conn.send_raw(struct.pack(">i", size) + b"\x00\x12\x00\x00")
        assert conn.closed_by_broker(), f"frame size {size:#x}: connection left open"
        conn.close()


def check_truncated_then_eof(broker):
    whole = frame(*metadata_v8([], False), correlation_id=7)
    for cut in (1, 3, 4, 6, 10, len(whole) - 1):
        conn = Connection(broker)
        conn.send_raw(whole[:cut])
        conn.sock.shutdown(socket.SHUT_WR)
        assert conn.closed_by_broker(), f"request cut after {cut} bytes then EOF: still open"
        conn.close()


def check_unknown_api_key(broker):
    conn = Connection(broker)
    conn.send_raw(frame(999, 0, b"", correlation_id=1))
    assert conn.closed_by_broker(), "API key 999: connection left open (Kafka closes it)"
    conn.close()
    conn = Connection(broker)
    conn.send_raw(frame(-5, 0, b"", correlation_id=1))
    assert conn.closed_by_broker(), "API key -5: connection left open"
    conn.close()


def parse_api_versions_v0(reader):
    error = reader.take(">h")
    count = reader.take(">i")
    assert 0 <= count < 1000, f"ApiVersions: {count} entries"
    return error, {key: (low, high) for key, low, high in (reader.take(">hhh")
                                                            for _ in range(count))}


def check_api_versions_v0(broker):
    conn = Connection(broker)
    try:
        error, apis = parse_api_versions_v0(conn.request(API_API_VERSIONS, 0, b""))
        assert error == 0, f"ApiVersions v0: error {error}"
        for key in (API_PRODUCE, API_FETCH, API_LIST_OFFSETS, API_METADATA, API_API_VERSIONS):
            assert key in apis, f"ApiVersions v0 lacks API {key}: {apis}"
        assert apis[API_PRODUCE][0] <= 3 <= apis[API_PRODUCE][1], f"Produce {apis[API_PRODUCE]}"
        # The same connection keeps serving.
        error, _ = parse_api_versions_v0(conn.request(API_API_VERSIONS, 0, b""))
        assert error == 0
    finally:
        conn.close()


def check_api_versions_unsupported(broker):
    """Kafka answers an ApiVersions version it does not know with UNSUPPORTED_VERSION in the v0
    response format, listing its own ApiVersions range so the client can retry."""
    conn = Connection(broker)
    try:
        error, apis = parse_api_versions_v0(
            conn.request(API_API_VERSIONS, 99, b"", flexible_header=True))
        assert error == UNSUPPORTED_VERSION, f"ApiVersions v99: error {error}, want 35"
        assert API_API_VERSIONS in apis, f"ApiVersions v99 answer lists {apis}, want key 18"
    finally:
        conn.close()


def check_unsupported_version_of_other_api(broker):
    conn = Connection(broker)
    conn.send_raw(frame(API_METADATA, 99, b"", correlation_id=1))
    assert conn.closed_by_broker(), "Metadata v99: connection left open (Kafka closes it)"
    conn.close()


def fuzz_templates(topic):
    """Valid requests to mutate. Admin requests are left out: a mutated partition count is a legal
    request for two billion partitions, which would test the machine rather than the parser."""
    fetch_v4 = struct.pack(">iiiib", -1, 100, 1, 1 << 20, 0) + array(
        [string(topic) + array([struct.pack(">iqi", 0, 0, 1 << 20)])])
    describe_configs_v0 = array([struct.pack(">b", 2) + string(topic) + struct.pack(">i", -1)])
    return [(API_API_VERSIONS, 0, b""), (API_API_VERSIONS, 3, b"\x00\x00\x00"),
            metadata_v8([topic], False), metadata_v8([], False),
            produce_v3(topic, 0, record_batch([(b"k", b"fuzz")])),
            list_offsets_v1(topic, 0, -2), (API_FETCH, 4, fetch_v4),
            (API_DESCRIBE_CONFIGS, 0, describe_configs_v0)]


def make_fuzz_frames(rng, templates, count):
    """A quarter each: bytes overwritten, cut short, garbage appended, pure noise."""
    frames = []
    for i in range(count):
        kind = i % 4
        if kind == 3:
            noise = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            frames.append(struct.pack(">i", len(noise)) + noise)
            continue
        api_key, version, body = rng.choice(templates)
        data = bytearray(frame(api_key, version, body, correlation_id=i))
        if kind == 0:
            for _ in range(rng.randrange(1, 6)):
                data[rng.randrange(4, len(data))] = rng.randrange(256)
        elif kind == 1:
            cut = rng.randrange(5, len(data))
            data = bytearray(struct.pack(">i", cut - 4)) + data[4:cut]
        else:
            extra = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
            data = bytearray(struct.pack(">i", len(data) - 4 + len(extra))) + data[4:] + extra
        frames.append(bytes(data))
    return frames


def send_each_on_its_own_connection(broker, frames, outcomes, wait_s=1.5):
    """Sends every frame on a fresh connection at once, then tallies within wait_s what became of
    each: "closed", "answered" (a whole response frame), "partial answer" or "open"."""
    conns = []
    with selectors.DefaultSelector() as selector:
        for data in frames:
            conn = Connection(broker)
            conn.send_raw(data)
            conn.sock.setblocking(False)
            selector.register(conn.sock, selectors.EVENT_READ, conn)
            conns.append(conn)
        got = {conn: b"" for conn in conns}
        done = set()
        deadline = time.monotonic() + wait_s
        while len(done) < len(conns) and time.monotonic() < deadline:
            for key, _ in selector.select(0.1):
                conn = key.data
                try:
                    chunk = conn.sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                got[conn] += chunk
                data = got[conn]
                whole = len(data) >= 4 and len(data) >= 4 + struct.unpack(">i", data[:4])[0]
                if not chunk or whole:
                    done.add(conn)
                    selector.unregister(conn.sock)
                    outcomes["answered" if whole else "closed"] += 1
    for conn in conns:
        if conn not in done:
            outcomes["partial answer" if got[conn] else "open"] += 1
        conn.close()


def fuzz_frames(broker, topic, seed):
    """Mutated valid requests and noise, each on its own connection: whatever the broker answers,
    it must stay up."""
    frames = make_fuzz_frames(random.Random(seed), fuzz_templates(topic), FUZZ_FRAMES)
    outcomes = {"closed": 0, "answered": 0, "partial answer": 0, "open": 0}
    for start in range(0, len(frames), 50):
        send_each_on_its_own_connection(broker, frames[start:start + 50], outcomes)
        assert broker.running(), (f"broker died during fuzz frames {start}..{start + 49} "
                                  f"(seed {seed})\n" + broker.log_tail())
    return outcomes


def check_unknown_topic_without_auto_create(broker):
    missing = unique_topic("never-created")
    conn = Connection(broker)
    try:
        reader = conn.request(*metadata_v8([missing], True))
        reader.take(">i")  # throttle
        for _ in range(reader.take(">i")):
            reader.take(">i"), reader.string(), reader.take(">i"), reader.string()
        reader.string(), reader.take(">i")  # cluster id, controller
        assert reader.take(">i") == 1
        error, name = reader.take(">h"), reader.string()
        assert (error, name) == (UNKNOWN_TOPIC_OR_PARTITION, missing), (
            f"Metadata v8 (allow_auto_topic_creation) for {missing} with auto-creation off: "
            f"error {error} for {name!r}, want 3")
    finally:
        conn.close()
    error, _ = produce_raw(broker, missing, 0, record_batch([(b"k", b"v")]))
    assert error == UNKNOWN_TOPIC_OR_PARTITION, f"Produce v3 to {missing}: error {error}, want 3"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    described = admin.list_topics(topic=missing, timeout=10).topics[missing]
    assert described.error is not None and \
        described.error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, (
            f"confluent list_topics({missing}): error {described.error}, want "
            f"UNKNOWN_TOPIC_OR_PART")
    assert missing not in admin.list_topics(timeout=10).topics, f"{missing} was created"


def check_corrupt_batch(broker, topic):
    before = latest_offset(broker, topic, 1)
    good = record_batch([(b"key", b"good")])
    error, base = produce_raw(broker, topic, 1, good)
    assert (error, base) == (0, before), f"valid Produce v3: error {error} base {base}"
    after_good = latest_offset(broker, topic, 1)
    assert after_good == before + 1, f"end offset {after_good} after one record, want {before + 1}"
    corruptions = {"crc field": CRC_POSITION, "record value": len(good) - 3,
                   "attributes": 21, "record count": 57}
    for what, position in corruptions.items():
        bad = bytearray(record_batch([(b"key", b"bad1"), (b"key", b"bad2")]))
        bad[position] ^= 0x5A
        error, _ = produce_raw(broker, topic, 1, bytes(bad))
        assert error == CORRUPT_MESSAGE, f"batch with corrupt {what}: error {error}, want 2"
    end = latest_offset(broker, topic, 1)
    assert end == after_good, f"end offset moved {after_good} -> {end}: corrupt batch stored"


def check_internal_topic_protected(broker):
    """__consumer_offsets is the group coordinator's: clients may not write it, create it, delete
    it or add partitions to it (INVALID_TOPIC_EXCEPTION for a produce, INVALID_REQUEST else)."""
    error, _ = produce_raw(broker, OFFSETS_TOPIC, 0, record_batch([(b"k", b"forged offset")]))
    assert error == INVALID_TOPIC_EXCEPTION, f"produce to {OFFSETS_TOPIC}: error {error}, want 17"
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    refused = {}
    for what, futures in (
            ("create", admin.create_topics([NewTopic(OFFSETS_TOPIC, 1, 1)])),
            ("delete", admin.delete_topics([OFFSETS_TOPIC])),
            ("create partitions", admin.create_partitions([NewPartitions(OFFSETS_TOPIC, 99)]))):
        try:
            futures[OFFSETS_TOPIC].result(timeout=20)
            refused[what] = "accepted"
        except KafkaException as error:
            refused[what] = error.args[0].name()
    assert refused == {"create": "INVALID_REQUEST", "delete": "INVALID_REQUEST",
                       "create partitions": "INVALID_REQUEST"}, refused
    return refused


def check_batch_larger_than_segment(broker):
    """Kafka refuses a batch larger than the topic's segment.bytes with RECORD_LIST_TOO_LARGE."""
    topic = unique_topic("tiny-segments")
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    for future in admin.create_topics(
            [NewTopic(topic, 1, 1, config={"segment.bytes": "1024"})]).values():
        future.result(timeout=20)
    big = record_batch([(b"k", b"v" * 300) for _ in range(6)])
    error, _ = produce_raw(broker, topic, 0, big)
    assert latest_offset(broker, topic, 0) == 0, "oversized batch was stored"
    assert error == RECORD_LIST_TOO_LARGE, (
        f"{len(big)}-byte batch into segment.bytes=1024: error {error}, want 18 "
        f"(RECORD_LIST_TOO_LARGE)")


class BackgroundProducer(threading.Thread):
    """Produces steadily (acks=all) for as long as the bad input goes on."""

    def __init__(self, bootstrap, topic):
        super().__init__(daemon=True)
        self.topic = topic
        self.producer = Producer({"bootstrap.servers": bootstrap, "acks": "all",
                                  "message.timeout.ms": 20000})
        self.stopping = threading.Event()
        self.acked, self.errors, self.sent = [], [], 0

    def report(self, error, message):
        if error is None:
            self.acked.append((message.offset(), message.value()))
        else:
            self.errors.append(str(error))

    def run(self):
        while not self.stopping.is_set():
            self.producer.produce(self.topic, value=f"steady-{self.sent}".encode(), partition=0,
                                  on_delivery=self.report)
            self.sent += 1
            self.producer.poll(0.02)
        self.left = self.producer.flush(20)


def check_background_producer(broker, background):
    background.stopping.set()
    background.join(30)
    assert not background.is_alive(), "background producer did not finish"
    assert background.left == 0 and not background.errors, (
        f"background producer: {background.left} unflushed, errors {background.errors[:3]}")
    assert background.sent >= 10, f"background producer sent only {background.sent} records"
    assert len(background.acked) == background.sent, (
        f"background producer: {len(background.acked)} of {background.sent} acked")
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused-assign-only",
                         "enable.auto.commit": False})
    try:
        consumer.assign([TopicPartition(background.topic, 0, OFFSET_BEGINNING)])
        got = []
        deadline = time.monotonic() + 15
        while len(got) < background.sent and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                got.append((message.offset(), message.value()))
        assert sorted(got) == sorted(background.acked), (
            f"background topic: consumed {len(got)} records, acked {len(background.acked)}")
    finally:
        consumer.close()
    del background.producer
    return background.sent


def main():
    checks = Checks("bad_input_test")
    check = checks.run
    settings = {"auto.create.topics.enable": "false"}
    with Broker(settings=settings, name="bad-input") as broker:
        checks.broker = broker
        topic = unique_topic("bad-input")
        steady = unique_topic("steady")
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        for future in admin.create_topics([NewTopic(topic, 2, 1),
                                           NewTopic(steady, 1, 1)]).values():
            future.result(timeout=20)
        del admin
        background = BackgroundProducer(broker.bootstrap, steady)
        background.start()

        check("absurd frame sizes close the connection", check_absurd_frame_sizes, broker)
        check("truncated request then EOF closes", check_truncated_then_eof, broker)
        check("unknown API key closes the connection", check_unknown_api_key, broker)
        check("unknown Metadata version closes", check_unsupported_version_of_other_api, broker)
        check("ApiVersions v99 gets error 35 in v0 format", check_api_versions_unsupported,
              broker)
        check(f"fuzzed frames (seed {FUZZ_SEED})", fuzz_frames, broker, topic, FUZZ_SEED)
        check("ApiVersions v0 on a fresh connection still works", check_api_versions_v0, broker)
        check("UNKNOWN_TOPIC_OR_PARTITION without auto-creation",
              check_unknown_topic_without_auto_create, broker)
        check("corrupt record batch gets CORRUPT_MESSAGE, nothing stored", check_corrupt_batch,
              broker, topic)
        check("__consumer_offsets is refused to clients", check_internal_topic_protected, broker)
        check("batch larger than segment.bytes gets RECORD_LIST_TOO_LARGE",
              check_batch_larger_than_segment, broker)
        check("another client produced throughout (records)", check_background_producer, broker,
              background)
        check("broker alive, no crash in its log", broker.assert_no_crash)
        broker.stop()
    return checks.exit_status()


if __name__ == "__main__":
    sys.exit(main())
