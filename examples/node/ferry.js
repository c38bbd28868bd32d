// Loads the Ferry API from proto/ferry/v1/ferry.proto at run time (no code generation) and
// wraps grpc-js's callback calls in promises with a deadline.
'use strict';

const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

// The repository's proto/ directory; FERRY_PROTO_DIR points elsewhere (a copy of the file).
const PROTO_DIR = process.env.FERRY_PROTO_DIR || path.join(__dirname, '..', '..', 'proto');

const definition = protoLoader.loadSync('ferry/v1/ferry.proto', {
  includeDirs: [PROTO_DIR],
  keepCase: true, // field names as in the .proto: member_id, not memberId
  longs: Number, // int64 offsets as numbers: exact up to 2^53
  enums: String, // 'OFFSET_RESET_EARLIEST'
  defaults: true,
  oneofs: true,
});
const ferry = grpc.loadPackageDefinition(definition).ferry.v1;

function broker() {
  return process.env.FERRY_BROKER || '127.0.0.1:50051';
}

function clients(address) {
  const credentials = grpc.credentials.createInsecure();
  return {
    broker: new ferry.Broker(address, credentials),
    admin: new ferry.Admin(address, credentials),
  };
}

// Calls a unary method; resolves with its response, rejects with the gRPC error
// (err.code is a grpc.status value, err.details the broker's message).
function call(client, method, request, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + timeoutMs }, (err, response) =>
      err ? reject(err) : resolve(response),
    );
  });
}

module.exports = { grpc, ferry, broker, clients, call };
