// Prints a consumer group's committed offsets and lag per partition (Admin.DescribeGroup),
// like `kafka-consumer-groups --describe --group my-group` or `ferryctl group describe`.
// Columns: TOPIC PARTITION MEMBER COMMITTED END LAG ('-': no owner / nothing committed).
//
//   node describe_group.js [--broker HOST:PORT] [--group my-group]
'use strict';

const { parseArgs } = require('util');
const { broker, clients, call } = require('./ferry');

async function main() {
  const { values: args } = parseArgs({
    options: {
      broker: { type: 'string', default: broker() },
      group: { type: 'string', default: 'my-group' },
    },
  });
  const { admin } = clients(args.broker);
  const group = await call(admin, 'DescribeGroup', { group: args.group });
  admin.close();
  const state = group.state.replace(/^GROUP_STATE_/, '');
  console.log(
    `group ${group.group}: state ${state}, generation ${group.generation}, ` +
      `members ${group.members.length}`,
  );
  const rows = [['TOPIC', 'PARTITION', 'MEMBER', 'COMMITTED', 'END', 'LAG']];
  for (const p of group.partitions) {
    rows.push([
      p.topic,
      String(p.partition),
      p.member_id || '-',
      p.committed_offset >= 0 ? String(p.committed_offset) : '-',
      String(p.end_offset),
      String(p.lag),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const row of rows) {
    console.log(row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
  }
}

main().catch((err) => {
  console.error(`describe_group.js: ${err.details || err.message}`);
  process.exit(1);
});
