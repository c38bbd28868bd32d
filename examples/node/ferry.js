// Loads the Ferry API from proto/ferry/v1/ferry.proto at run time (no code generation) and
// wraps grpc-js's callback calls in promises with a deadline.
'use strict';

const fs = require('fs');
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

// How to reach the broker, from the environment (as ferryctl and the Python examples):
//   FERRY_TLS_CA           speak TLS, checking the broker's certificate against this CA file
//   FERRY_TLS_SERVER_NAME  the name on that certificate, when not the address's host
//   FERRY_USER, FERRY_PASSWORD  log in: each call carries `authorization: Basic ...`, checked
//                          against ferryd's users and ACLs (refused over plaintext)
// Without FERRY_TLS_CA: plaintext and anonymous.
function channelCredentials() {
  const ca = process.env.FERRY_TLS_CA;
  const user = process.env.FERRY_USER;
  if (!ca) {
    if (user) throw new Error('a password needs TLS: set FERRY_TLS_CA too');
    return grpc.credentials.createInsecure();
  }
  const tls = grpc.credentials.createSsl(fs.readFileSync(ca));
  if (!user) return tls;
  const token = Buffer.from(`${user}:${process.env.FERRY_PASSWORD || ''}`).toString('base64');
  const basic = grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Basic ${token}`);
    callback(null, metadata);
  });
  return grpc.credentials.combineChannelCredentials(tls, basic);
}

function clients(address) {
  const credentials = channelCredentials();
  const options = {};
  if (process.env.FERRY_TLS_SERVER_NAME) {
    options['grpc.ssl_target_name_override'] = process.env.FERRY_TLS_SERVER_NAME;
  }
  return {
    broker: new ferry.Broker(address, credentials, options),
    admin: new ferry.Admin(address, credentials, options),
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
