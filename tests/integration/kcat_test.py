#!/usr/bin/python3
"""kcat (librdkafka) against strand-broker: metadata, keyed records with headers in every codec read
back byte-exact, per-partition order, and seeking by offset and by timestamp."""

import random
import re
import subprocess
import sys
import time

from broker_fixture import Broker, unique_topic

PARTITIONS = 3
CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]
RECORDS_PER_CODEC = 40
HEADERS = [("a", "b"), ("trace", "x y=z")]   # kcat -H name=value, sent with every record
MESSAGE_DELIMITER = b"\x1e"                  # so values may hold newlines, NULs, colons
# Length-prefixed fields make the output parseable whatever the bytes are.
CONSUME_FORMAT = r"%p %o %T %K %S %k%s|%h\x1e"


def kcat(broker, args, stdin=None, timeout_s=30, want_stderr=False):
    command = ["kcat", "-b", broker.bootstrap, "-m", "10"] + args
    result = subprocess.run(command, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=timeout_s)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {result.returncode}\n"
                             f"stderr: {result.stderr.decode(errors='replace')[-3000:]}")
    return (result.stdout, result.stderr.decode(errors="replace")) if want_stderr \
        else result.stdout


def make_records(seed, count):
    """(key, value) pairs: keys repeat so several records share a partition; values are random bytes
    (anything but the message delimiter) and repeated text, so every codec really compresses,
    after a unique prefix."""
    rng = random.Random(seed)
    alphabet = bytes(b for b in range(256) if b != MESSAGE_DELIMITER[0])
    records = []
    for i in range(count):
        key = f"key-{i % 11}".encode()
        noise = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 60)))
        tail = noise + b"compressible " * rng.randrange(0, 20)
        records.append((key, f"v{seed}-{i}|".encode() + tail))
    records.append((f"key-empty-value-{seed}".encode(), b""))
    return records


def produce(broker, topic, records, codec):
    """Returns librdkafka's debug lines saying it declined to compress a batch."""
    payload = b"".join(key + b":" + value + MESSAGE_DELIMITER for key, value in records)
    args = ["-P", "-t", topic, "-K:", "-D", r"\x1e", "-z", codec, "-X", "message.timeout.ms=15000",
            "-d", "msg"]
    for name, value in HEADERS:
        args += ["-H", f"{name}={value}"]
    _, log = kcat(broker, args, stdin=payload, want_stderr=True)
    return [line for line in log.splitlines() if "not compressing batch" in line]


def consume(broker, topic, extra=()):
    """Every record kcat prints until the end of each partition, as dicts."""
    out = kcat(broker, ["-C", "-t", topic, "-e", "-q", "-f", CONSUME_FORMAT] + list(extra))
    records, pos = [], 0
    while pos < len(out):
        header_end = pos
        for _ in range(5):
            header_end = out.index(b" ", header_end) + 1
        partition, offset, timestamp, key_len, value_len = map(int, out[pos:header_end].split())
        pos = header_end
        key = None if key_len < 0 else out[pos:pos + key_len]
        pos += max(key_len, 0)
        value = None if value_len < 0 else out[pos:pos + value_len]
        pos += max(value_len, 0)
        assert out[pos:pos + 1] == b"|", f"format broken at byte {pos}: {out[pos:pos + 40]!r}"
        end = out.index(MESSAGE_DELIMITER, pos)
        headers = out[pos + 1:end].decode()
        pos = end + 1
        records.append({"partition": partition, "offset": offset, "timestamp": timestamp,
                        "key": key, "value": value, "headers": headers})
    return records


def by_partition(consumed):
    parts = {}
    for record in consumed:
        parts.setdefault(record["partition"], []).append(record)
    return parts


def check_exact(topic, sent, consumed, t_before_ms, t_after_ms):
    """Each sent record comes back once, byte-exact with its headers; each partition is a gapless
    run of offsets from 0 holding the sent records in the order they were sent."""
    want_headers = ",".join(f"{n}={v}" for n, v in HEADERS)
    got = [(r["key"], r["value"]) for r in consumed]
    missing = [r for r in sent if r not in got]
    extra = [r for r in got if r not in sent]
    assert not missing and not extra and len(got) == len(sent), (
        f"{topic}: sent {len(sent)} records, consumed {len(got)}; missing {missing[:3]} "
        f"unexpected {extra[:3]}")
    for record in consumed:
        assert record["headers"] == want_headers, (
            f"{topic}: offset {record['offset']} headers {record['headers']!r}, "
            f"want {want_headers!r}")
        assert t_before_ms - 1000 <= record["timestamp"] <= t_after_ms + 1000, (
            f"{topic}: timestamp {record['timestamp']} outside the produce window "
            f"[{t_before_ms}, {t_after_ms}]")
    for partition, records in by_partition(consumed).items():
        offsets = [r["offset"] for r in records]
        assert offsets == list(range(len(records))), (
            f"{topic}[{partition}]: offsets {offsets}, want 0..{len(records) - 1}")
        in_order = [(r["key"], r["value"]) for r in records]
        sent_here = [r for r in sent if r in in_order]
        assert in_order == sent_here, f"{topic}[{partition}]: records out of send order"
        keys = {r["key"] for r in records}
        for other, other_records in by_partition(consumed).items():
            if other != partition:
                shared = keys & {r["key"] for r in other_records}
                assert not shared, f"{topic}: keys {shared} on partitions {partition} and {other}"


def check_advertised_address(broker):
    """Clients connect to the address Metadata advertises, so it must be the one really bound
    (Kafka advertises the bound port when listening on port 0)."""
    listing = kcat(broker, ["-L"]).decode()
    want_broker = f"broker 1 at {broker.bootstrap}"
    assert want_broker in listing, (
        f"kcat -L does not advertise the address it was reached on ({want_broker!r}):\n{listing}")


def check_metadata(broker, topics):
    listing = kcat(broker, ["-L"]).decode()
    for topic in topics:
        want = f'topic "{topic}" with {PARTITIONS} partitions:'
        assert want in listing, f"kcat -L lacks {want!r}:\n{listing}"
    one = kcat(broker, ["-L", "-t", topics[0]]).decode()
    partitions = re.findall(r"partition (\d+), leader 1,", one)
    assert sorted(map(int, partitions)) == list(range(PARTITIONS)), f"kcat -L -t:\n{one}"


def check_codecs(broker):
    topics = []
    for seed, codec in enumerate(CODECS):
        topic = unique_topic(f"kcat-{codec}")
        sent = make_records(seed, RECORDS_PER_CODEC)
        t_before = int(time.time() * 1000)
        declined = produce(broker, topic, sent, codec)
        t_after = int(time.time() * 1000)
        if declined:
            # librdkafka < 2.8 compresses gzip/snappy only when the broker lists Produce v0 and lz4
            # only when it lists FindCoordinator (librdkafka issue #4956); Kafka 4.0 hits it too.
            assert codec != "zstd", f"librdkafka declined zstd: {declined[0]}"
            print(f"note: librdkafka sent {codec} uncompressed: {declined[0]}")
        consumed = consume(broker, topic, ["-o", "beginning"])
        check_exact(topic, sent, consumed, t_before, t_after)
        print(f"codec {codec}: {len(sent)} records byte-exact on "
              f"{len(by_partition(consumed))} partitions")
        topics.append(topic)
    return topics


def check_seek_by_offset(broker, topic):
    everything = by_partition(consume(broker, topic, ["-o", "beginning"]))
    partition, records = max(everything.items(), key=lambda item: len(item[1]))
    assert len(records) >= 4, f"{topic}: want a partition with 4+ records, have {len(records)}"
    for start in (0, 2, len(records) - 1):
        got = consume(broker, topic, ["-p", str(partition), "-o", str(start)])
        want = records[start:]
        assert got == want, (f"{topic}[{partition}] -o {start}: got offsets "
                             f"{[r['offset'] for r in got]}, want {[r['offset'] for r in want]}")
    got = consume(broker, topic, ["-p", str(partition), "-o", "-2"])
    assert got == records[-2:], f"{topic}[{partition}] -o -2: got {[r['offset'] for r in got]}"
    print(f"seek by offset on {topic}[{partition}]: ok")


def check_seek_by_timestamp(broker):
    """Two produce runs 200 ms apart; s@<first timestamp of run two> starts every partition at its
    first record of run two (Kafka: the earliest offset whose timestamp is >= the target)."""
    topic = unique_topic("kcat-ts")
    first = make_records(100, 30)
    second = make_records(101, 30)
    produce(broker, topic, first, "none")
    time.sleep(0.2)
    produce(broker, topic, second, "lz4")
    everything = consume(broker, topic, ["-o", "beginning"])
    second_ts = [r["timestamp"] for r in everything if (r["key"], r["value"]) in second]
    first_ts = [r["timestamp"] for r in everything if (r["key"], r["value"]) in first]
    assert max(first_ts) < min(second_ts), f"runs overlap in time: {max(first_ts)} {min(second_ts)}"
    target = min(second_ts)
    parts = by_partition(everything)
    assert len(parts) == PARTITIONS, f"{topic}: records on partitions {sorted(parts)} only"
    got = by_partition(consume(broker, topic, ["-o", f"s@{target}"]))
    for partition, records in parts.items():
        want = [r for r in records if (r["key"], r["value"]) in second]
        have = got.get(partition, [])
        assert have == want, (f"{topic}[{partition}] -o s@{target}: got offsets "
                              f"{[r['offset'] for r in have]}, want {[r['offset'] for r in want]}")
        query = kcat(broker, ["-Q", "-t", f"{topic}:{partition}:{target}"]).decode()
        want_line = f"{topic} [{partition}] offset {want[0]['offset']}"
        assert want_line in query, f"kcat -Q: got {query!r}, want {want_line!r}"
    print(f"seek by timestamp on {topic}: ok")


def main():
    with Broker(settings={"num.partitions": PARTITIONS}, name="kcat") as broker:
        check_advertised_address(broker)
        topics = check_codecs(broker)
        check_metadata(broker, topics)
        check_seek_by_offset(broker, topics[0])
        check_seek_by_timestamp(broker)
        broker.assert_no_crash()
        broker.stop()
    print("kcat_test: ok")


if __name__ == "__main__":
    sys.exit(main())
