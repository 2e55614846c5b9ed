// kafkajs 2.2 against a real strand-broker: admin (create, list, describe offsets), keyed produce
// with headers (none and gzip, the codecs kafkajs ships), offsets by timestamp, and a consumer
// group (kafkajs has no group-less consumer) that reads everything back, commits, and whose
// committed offsets the admin client then sees; a new member of that group resumes after the
// commit, and two members of another group share the partitions.
// Usage: node kafkajs_test.js HOST:PORT   (NODE_PATH must hold kafkajs)
'use strict';
let kafkajs;
try {
  kafkajs = require('kafkajs');
} catch (e) {
  console.log('kafkajs is not installed (tools/dev setup installs it from npm); skipping');
  process.exit(77);
}
const { Kafka, CompressionTypes, logLevel } = kafkajs;
const assert = require('assert');

async function main() {
  const broker = process.argv[2];
  const kafka = new Kafka({ clientId: 'kafkajs-test', brokers: [broker], logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  const topic = 'kafkajs-' + process.pid;
  assert.strictEqual(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), true);
  assert.strictEqual(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] }), false,
    'creating an existing topic reports false');
  const topics = await admin.listTopics();
  assert.ok(topics.includes(topic), `listTopics has ${topic}: ${topics}`);
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  assert.strictEqual(metadata.topics[0].partitions.length, 3);

  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const before = Date.now();
  const sent = [];
  for (const compression of [CompressionTypes.None, CompressionTypes.GZIP]) {
    const messages = [];
    for (let i = 0; i < 30; i++) {
      messages.push({ key: `key-${i}`, value: `value-${compression}-${i}`, headers: { h: `x${i}` } });
    }
    const results = await producer.send({ topic, messages, acks: -1, compression });
    for (const r of results) {
      assert.strictEqual(r.errorCode, 0, JSON.stringify(r));
      sent.push(r);
    }
  }
  await producer.disconnect();

  const offsets = await admin.fetchTopicOffsets(topic);
  let total = 0;
  for (const p of offsets) {
    assert.strictEqual(p.low, '0');
    total += Number(p.high);
  }
  assert.strictEqual(total, 60, `60 records across partitions: ${JSON.stringify(offsets)}`);
  const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, before - 60000);
  for (const p of byTime) assert.strictEqual(p.offset, '0', JSON.stringify(byTime));
  const future = await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() + 3600 * 1000);
  for (const p of future) {
    const high = offsets.find((o) => o.partition === p.partition).high;
    assert.strictEqual(p.offset, high, `a time after every record gives the end: ${JSON.stringify(future)}`);
  }
  await consumeThroughGroup(kafka, admin, topic, offsets);
  await resumeAfterCommit(kafka, topic);
  await splitBetweenTwo(kafka, topic);
  await admin.deleteTopics({ topics: [topic] });
  assert.ok(!(await admin.listTopics()).includes(topic), 'deleted topic is gone');
  await admin.disconnect();
  console.log('kafkajs: ok');
}

// Reads every record through a consumer group, checks values and headers, and checks the
// group's committed offsets reach the end of every partition.
async function consumeThroughGroup(kafka, admin, topic, offsets) {
  const groupId = topic + '-group';
  const consumer = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values = new Set();
  let headersSeen = 0;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${values.size} of 60 consumed`)), 20000);
    consumer.run({
      autoCommitInterval: 100,
      eachMessage: async ({ message }) => {
        values.add(message.value.toString());
        if (message.headers.h) headersSeen++;
        if (values.size === 60) {
          clearTimeout(timer);
          resolve();
        }
      },
    }).catch(reject);
  });
  await consumer.disconnect();  // commits what was consumed, then leaves the group
  assert.strictEqual(values.size, 60);
  assert.strictEqual(headersSeen >= 60, true, 'headers come back');
  const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
  for (const p of committed[0].partitions) {
    const high = offsets.find((o) => o.partition === p.partition).high;
    assert.strictEqual(p.offset, high, `committed offsets reach the end: ${JSON.stringify(committed)}`);
  }
  const groups = await admin.listGroups();
  assert.ok(groups.groups.some((g) => g.groupId === groupId), JSON.stringify(groups));
}

// Reads through `consumer` until `want` distinct values arrived, then `settleMs` more; returns
// the values.
async function readValues(consumer, want, settleMs, onMessage) {
  const values = new Set();
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${values.size} of ${want} consumed`)), 30000);
    consumer.run({
      autoCommitInterval: 100,
      eachMessage: async (payload) => {
        values.add(payload.message.value.toString());
        if (onMessage) onMessage(payload);
        if (values.size === want) {
          clearTimeout(timer);
          setTimeout(resolve, settleMs);
        }
      },
    }).catch(reject);
  });
  return values;
}

// A new member of the group that committed everything reads only what was produced since.
async function resumeAfterCommit(kafka, topic) {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const messages = [];
  for (let i = 0; i < 15; i++) messages.push({ key: `late-${i}`, value: `late-${i}` });
  await producer.send({ topic, messages, acks: -1 });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: topic + '-group', sessionTimeout: 6000, heartbeatInterval: 500 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const values = await readValues(consumer, 15, 1000);
  await consumer.disconnect();
  const unexpected = [...values].filter((v) => !v.startsWith('late-'));
  assert.deepStrictEqual(unexpected, [], 'a restarted group member resumes after the commit');
  assert.strictEqual(values.size, 15);
}

// Two members of a new group share the three partitions and together read every record.
async function splitBetweenTwo(kafka, topic) {
  const groupId = topic + '-pair';
  const members = [0, 1].map(() => kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500 }));
  const assigned = [[], []];
  const values = new Set();
  members.forEach((member, index) => {
    member.on(member.events.GROUP_JOIN, (event) => {
      assigned[index] = (event.payload.memberAssignment[topic] || []).slice().sort();
    });
  });
  for (const member of members) {
    await member.connect();
    await member.subscribe({ topic, fromBeginning: true });
  }
  const split = () => assigned[0].length > 0 && assigned[1].length > 0 &&
    assigned[0].length + assigned[1].length === 3;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(
      `read ${values.size} of 75; assignments ${JSON.stringify(assigned)}`)), 30000);
    const check = () => {
      if (values.size === 75 && split()) {
        clearTimeout(timer);
        resolve();
      }
    };
    for (const member of members) {
      member.run({
        autoCommitInterval: 100,
        eachMessage: async ({ message }) => {
          values.add(message.value.toString());
          check();
        },
      }).catch(reject);
    }
    setInterval(check, 200).unref();
  });
  const union = new Set([...assigned[0], ...assigned[1]]);
  assert.strictEqual(union.size, 3, `disjoint assignments: ${JSON.stringify(assigned)}`);
  for (const member of members) await member.disconnect();
}

main().catch((e) => {
  console.error('kafkajs test failed:', e);
  process.exit(1);
});
