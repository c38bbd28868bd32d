// Ferry's take on Kafka's getting-started consumer: group `my-group` reads `my-topic`.
//
// Joins the group, opens the group's Subscribe stream (which carries the partitions the broker
// assigns, then their records), prints each record and commits its offset. Where the group has
// committed nothing it starts at the earliest record. Stops after --max-records records
// (0: run until Ctrl-C), then leaves the group so its partitions move at once.
//
//   node consumer.js [--broker HOST:PORT] [--topic my-topic] [--group my-group]
//                    [--max-records N] [--timeout SECONDS]
'use strict';

const { parseArgs } = require('util');
const { grpc, broker, clients, call } = require('./ferry');

// Commits `nextOffset` (the offset of the next record to read) for one partition.
async function commit(brokerClient, group, memberId, generation, topic, partition, nextOffset) {
  const response = await call(brokerClient, 'CommitOffset', {
    group,
    member_id: memberId,
    generation,
    offsets: [{ topic, partition, offset: nextOffset }],
  });
  for (const result of response.results) {
    if (result.code !== 0) {
      console.error(`commit of ${result.topic}/${result.partition} failed: ${result.message}`);
    }
  }
}

async function main() {
  const { values: args } = parseArgs({
    options: {
      broker: { type: 'string', default: broker() },
      topic: { type: 'string', default: 'my-topic' },
      group: { type: 'string', default: 'my-group' },
      'max-records': { type: 'string', default: '0' },
      timeout: { type: 'string' },
    },
  });
  const maxRecords = Number(args['max-records']);
  const { broker: brokerClient } = clients(args.broker);

  const joined = await call(brokerClient, 'JoinGroup', {
    group: args.group,
    topics: [args.topic],
    session_timeout_ms: 10000,
  });
  const memberId = joined.member_id;
  let generation = joined.generation;
  console.log(`Joined group ${args.group} as ${memberId} (generation ${generation})`);

  const options = {};
  if (args.timeout !== undefined) options.deadline = Date.now() + Number(args.timeout) * 1000;
  const stream = brokerClient.Subscribe(
    {
      group: {
        group: args.group,
        member_id: memberId,
        generation,
        offset_reset: 'OFFSET_RESET_EARLIEST',
      },
    },
    options,
  );
  let stopping = false;
  const onSignal = () => {
    stopping = true;
    stream.cancel();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  let consumed = 0;
  let failure = null;
  try {
    for await (const message of stream) {
      if (message.assignment) {
        // The first message is the current assignment; later ones come with each rebalance.
        // Commits carry the generation they were made in.
        generation = message.assignment.generation;
        const owned = message.assignment.assignment.map((tp) => `${tp.topic}/${tp.partition}`);
        console.log(`Assigned (generation ${generation}): ${owned.join(', ') || 'nothing'}`);
        if (message.assignment.revoked.length > 0) {
          // Records are handled one message at a time, so revoked partitions are done with:
          // say so, and the broker hands them to their new owner (it waits for this answer,
          // up to the rebalance timeout).
          await call(brokerClient, 'Heartbeat', {
            group: args.group,
            member_id: memberId,
            generation,
          });
        }
        continue;
      }
      let last = null;
      for (const record of message.records) {
        console.log(
          `Consumed event from topic ${message.topic}: key = ${record.key} ` +
            `value = ${record.value} (partition ${message.partition}, offset ${record.offset})`,
        );
        consumed++;
        last = record.offset;
        if (consumed === maxRecords) break;
      }
      if (last !== null) {
        await commit(brokerClient, args.group, memberId, generation, message.topic,
          message.partition, last + 1);
      }
      if (consumed === maxRecords) break;
    }
  } catch (err) {
    if (err.code === grpc.status.DEADLINE_EXCEEDED) {
      failure = `only ${consumed} of ${maxRecords} records arrived within ${args.timeout} s`;
    } else if (!(stopping && err.code === grpc.status.CANCELLED)) {
      failure = err.details || err.message;
    }
  }
  stream.on('error', () => {}); // the CANCELLED that cancel() causes
  stream.cancel();
  // Leaving hands the partitions to the other members at once, instead of after the session
  // timeout.
  await call(brokerClient, 'LeaveGroup', { group: args.group, member_id: memberId });
  brokerClient.close();
  if (failure !== null) throw new Error(failure);
  console.log(`Consumed ${consumed} records; left group ${args.group}`);
}

main().catch((err) => {
  console.error(`consumer.js: ${err.details || err.message}`);
  process.exit(1);
});
