// tests/interop/s3rver-run.js — a local S3 server that checks SigV4, for the S3 store tests
//
// usage: node s3rver-run.js MODULE_DIR DATA_DIR PORT BUCKET
//   MODULE_DIR  where npm installed @20minutes/s3rver (build-deps/s3rver/node_modules)
//   PORT        0 for a free one
// Prints "listening on 127.0.0.1:PORT" once it serves, then runs until killed.
// Its only credentials are s3rver's fixed S3RVER / S3RVER.  Run node with
// --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation tokens
// with DES, which OpenSSL 3 refuses otherwise (the second page is a 500).
'use strict';

const path = require('path');

const [moduleDir, dataDir, port, bucket] = process.argv.slice(2);
if (!moduleDir || !dataDir || port === undefined || !bucket) {
  console.error('usage: node s3rver-run.js MODULE_DIR DATA_DIR PORT BUCKET');
  process.exit(2);
}
const S3rver = require(path.join(moduleDir, '@20minutes', 's3rver'));

new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory: dataDir,
  silent: true,
  configureBuckets: [{ name: bucket }],
})
  .run()
  .then((addr) => console.log(`listening on ${addr.address}:${addr.port}`))
  .catch((err) => {
    console.error(`s3rver: ${err.message}`);
    process.exit(1);
  });
