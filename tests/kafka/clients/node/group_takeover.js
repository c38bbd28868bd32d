// kafkajs against Ferry's Kafka listener: a producer and a consumer group of two members. One
// member leaves; the other takes over its partition from the committed offset, so no record is
// lost and none before the committed offset is delivered again.
//
//   1. js-topic (2 partitions); members A and B of js-group join and split the partitions.
//   2. 20 keyed records; A and B consume them and commit each one (autoCommit off, explicit
//      commits); the group's committed offsets reach the end of both partitions.
//   3. B pauses, 20 more records are produced, B disconnects (LeaveGroup), and its committed
//      offset on its partition is read (OffsetFetch).
//   4. A is assigned both partitions and reads B's from exactly that committed offset: every one
//      of the 40 values is seen, and ferryctl shows committed 40, lag 0.
//
// Run by ../run.sh, which exports KAFKA_BOOTSTRAP, FERRY_BROKER and FERRYCTL.
'use strict';

const { execFileSync } = require('node:child_process');
const { Kafka, logLevel } = require('kafkajs');

const TOPIC = 'js-topic';
const GROUP = 'js-group';
const PER_PHASE = 20;
const DEADLINE_MS = 45000;

const started = Date.now();

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

async function waitFor(what, condition, timeoutMs = 20000) {
  const deadline = Math.min(Date.now() + timeoutMs, started + DEADLINE_MS);
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function ferryctl(...args) {
  return execFileSync(process.env.FERRYCTL, ['--broker', process.env.FERRY_BROKER, ...args], {
    encoding: 'utf8',
  });
}

const kafka = new Kafka({
  clientId: 'ferry-kafkajs-test',
  brokers: [process.env.KAFKA_BOOTSTRAP],
  // NOTHING: kafkajs logs every REBALANCE_IN_PROGRESS heartbeat answer as an error; real
  // failures still surface as CRASH events and rejected promises.
  logLevel: logLevel.NOTHING,
  retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 },
});

// One group member: its current assignment and every record it received.
function member(name, seen) {
  const consumer = kafka.consumer({
    groupId: GROUP,
    sessionTimeout: 10000,
    rebalanceTimeout: 10000,
    heartbeatInterval: 200,
    maxWaitTimeInMs: 200,
  });
  const m = { name, consumer, assignment: [] };
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    m.assignment = (e.payload.memberAssignment[TOPIC] || []).slice().sort();
    console.log(`${name} joined: partitions [${m.assignment}] of ${TOPIC}`);
  });
  consumer.on(consumer.events.CRASH, (e) => fail(`${name} crashed: ${e.payload.error}`));
  m.start = async () => {
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        seen.push({
          member: name,
          partition,
          offset: Number(message.offset),
          value: message.value.toString(),
        });
        await consumer.commitOffsets([
          { topic: TOPIC, partition, offset: String(Number(message.offset) + 1) },
        ]);
      },
    });
  };
  return m;
}

async function produce(producer, from, to) {
  const messages = [];
  for (let i = from; i < to; i++) messages.push({ key: `k-${i}`, value: `v-${i}` });
  const acks = await producer.send({ topic: TOPIC, messages });
  console.log(`produced ${from}..${to - 1}: ${JSON.stringify(acks)}`);
}

async function committed(admin) {
  const [t] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
  const out = {};
  for (const p of t.partitions) out[p.partition] = Number(p.offset);
  return out;
}

async function endOffsets(admin) {
  const out = {};
  for (const p of await admin.fetchTopicOffsets(TOPIC)) out[p.partition] = Number(p.high);
  return out;
}

async function main() {
  ferryctl('topic', 'create', TOPIC, '-p', '2');
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer();
  await producer.connect();

  const seen = [];
  const a = member('A', seen);
  const b = member('B', seen);
  await a.start();
  await b.start();
  await waitFor('A and B to split the two partitions', () =>
    a.assignment.length === 1 && b.assignment.length === 1 && a.assignment[0] !== b.assignment[0]);
  const bPartition = b.assignment[0];

  await produce(producer, 0, PER_PHASE);
  await waitFor(`the first ${PER_PHASE} records`, () => seen.length >= PER_PHASE);
  await waitFor('committed offsets at the end of both partitions', async () => {
    const [c, e] = [await committed(admin), await endOffsets(admin)];
    return c[0] === e[0] && c[1] === e[1];
  });
  for (const r of seen) {
    const owner = r.partition === bPartition ? 'B' : 'A';
    if (r.member !== owner) {
      fail(`${r.member} received ${JSON.stringify(r)} of ${owner}'s partition`);
    }
  }

  // B stops fetching, the second phase goes out, then B leaves with what it committed.
  b.consumer.pause([{ topic: TOPIC }]);
  await produce(producer, PER_PHASE, 2 * PER_PHASE);
  await b.consumer.disconnect();
  // Read after B is gone: B cannot commit any more, A has not been given the partition yet or
  // reads from exactly here.
  const atLeave = (await committed(admin))[bPartition];
  const bEnd = (await endOffsets(admin))[bPartition];
  if (!(bEnd > atLeave)) {
    fail(`B left nothing to take over on partition ${bPartition} (end ${bEnd})`);
  }
  console.log(`B left partition ${bPartition} committed at ${atLeave} (end ${bEnd})`);

  await waitFor('A to take over both partitions', () => a.assignment.length === 2, 30000);
  const distinct = () => new Set(seen.map((r) => r.value)).size;
  await waitFor('all 40 values', () => distinct() >= 2 * PER_PHASE, 30000);

  const values = new Set(seen.map((r) => r.value));
  for (let i = 0; i < 2 * PER_PHASE; i++) {
    if (!values.has(`v-${i}`)) fail(`v-${i} was never delivered`);
  }
  // A never owned B's partition before: everything A got from it is the takeover.
  const takeover = seen.filter((r) => r.partition === bPartition && r.member === 'A');
  if (takeover.length === 0) fail(`A received nothing of partition ${bPartition}`);
  if (takeover[0].offset !== atLeave) {
    fail(`A took over partition ${bPartition} at offset ${takeover[0].offset}, ` +
      `B had committed ${atLeave}`);
  }
  const offsets = takeover.map((r) => r.offset);
  for (let i = 0; i < offsets.length; i++) {
    if (offsets[i] !== atLeave + i) fail(`takeover offsets not dense: ${offsets}`);
  }

  await waitFor('A to commit everything', async () => {
    const [c, e] = [await committed(admin), await endOffsets(admin)];
    return c[0] === e[0] && c[1] === e[1];
  });
  await a.consumer.disconnect();
  await producer.disconnect();
  await admin.disconnect();

  const describe = ferryctl('group', 'describe', GROUP);
  console.log(describe);
  const rows = describe.split('\n').map((l) => l.trim().split(/\s+/)).filter((r) => r[0] === TOPIC);
  const sum = (i) => rows.reduce((s, r) => s + (r[i] === '-' ? 0 : Number(r[i])), 0);
  if (sum(3) !== 2 * PER_PHASE || sum(5) !== 0) {
    fail(`ferryctl group describe ${GROUP}: committed ${sum(3)} (expected 40), lag ${sum(5)}`);
  }
  console.log(`PASS: ${seen.length} deliveries, takeover of partition ${bPartition} at ${atLeave}`);
}

main().then(
  () => process.exit(0),
  (e) => fail(e && e.stack ? e.stack : String(e)),
);
