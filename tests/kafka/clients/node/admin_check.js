// kafkajs admin against Ferry: describeConfigs, alterConfigs, createPartitions, deleteTopicRecords.
const { Kafka, ConfigResourceTypes, logLevel } = require("kafkajs");

async function main() {
  const kafka = new Kafka({ brokers: [process.env.KAFKA_BOOTSTRAP], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: "js-admin", numPartitions: 1 }] });
  const d = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: "js-admin" }],
    includeSynonyms: false,
  });
  const entries = d.resources[0].configEntries;
  const ms = entries.find((e) => e.configName === "retention.ms");
  if (!ms || ms.configValue !== "-1") throw new Error(`retention.ms: ${JSON.stringify(entries)}`);
  await admin.alterConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: "js-admin",
                  configEntries: [{ name: "retention.ms", value: "123456" }] }],
  });
  const d2 = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: "js-admin", configNames: ["retention.ms"] }],
    includeSynonyms: false,
  });
  if (d2.resources[0].configEntries[0].configValue !== "123456") {
    throw new Error(`after alter: ${JSON.stringify(d2.resources[0].configEntries)}`);
  }
  await admin.createPartitions({ topicPartitions: [{ topic: "js-admin", count: 3 }] });
  const meta = await admin.fetchTopicMetadata({ topics: ["js-admin"] });
  if (meta.topics[0].partitions.length !== 3) throw new Error(`partitions: ${JSON.stringify(meta)}`);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: "js-admin", messages: [0, 1, 2, 3].map((i) => ({ value: `v${i}`, partition: 0 })) });
  await producer.disconnect();
  await admin.deleteTopicRecords({ topic: "js-admin", partitions: [{ partition: 0, offset: "2" }] });
  const offsets = await admin.fetchTopicOffsets("js-admin");
  const p0 = offsets.find((o) => o.partition === 0);
  if (p0.low !== "2" || p0.high !== "4") throw new Error(`offsets after deleteTopicRecords: ${JSON.stringify(p0)}`);
  await admin.disconnect();
  console.log("kafkajs admin: describeConfigs, alterConfigs, createPartitions, deleteTopicRecords OK");
}

main().catch((e) => {
  console.error("FAIL:", e);
  process.exit(1);
});
