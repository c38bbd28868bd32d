// Ferry's take on Kafka's getting-started producer: ten keyed records to `my-topic`.
//
// Sends "Message 0" .. "Message 9" with keys "key-0" .. "key-9" in one Publish call (the batch
// is stored atomically) and prints where each record landed. Creates the topic first when it
// does not exist yet.
//
//   node producer.js [--broker HOST:PORT] [--topic my-topic] [--partitions 3] [--count 10]
'use strict';

const { parseArgs } = require('util');
const { grpc, broker, clients, call } = require('./ferry');

async function main() {
  const { values: args } = parseArgs({
    options: {
      broker: { type: 'string', default: broker() },
      topic: { type: 'string', default: 'my-topic' },
      partitions: { type: 'string', default: '3' },
      count: { type: 'string', default: '10' },
    },
  });
  const { admin, broker: brokerClient } = clients(args.broker);
  const partitions = Number(args.partitions);
  try {
    await call(admin, 'CreateTopic', { topic: args.topic, partitions });
    console.log(`Created topic ${args.topic} with ${partitions} partitions`);
  } catch (err) {
    // A user without Create (ACLs on) may still write to a topic an admin made.
    if (err.code !== grpc.status.ALREADY_EXISTS && err.code !== grpc.status.PERMISSION_DENIED) {
      throw err;
    }
  }

  const records = [];
  for (let i = 0; i < Number(args.count); i++) {
    records.push({ key: Buffer.from(`key-${i}`), value: Buffer.from(`Message ${i}`) });
  }
  const response = await call(brokerClient, 'Publish', { topic: args.topic, records });
  response.acks.forEach((ack, i) => {
    console.log(
      `Produced event to topic ${args.topic}: key = ${records[i].key} ` +
        `value = ${records[i].value} (partition ${ack.partition}, offset ${ack.offset})`,
    );
  });
  brokerClient.close();
  admin.close();
}

main().catch((err) => {
  console.error(`producer.js: ${err.details || err.message}`);
  process.exit(1);
});
