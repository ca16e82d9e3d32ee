#!/usr/bin/env node
// The `dbops` command: runs the compiled CLI (npm ci builds it; `npm run build` refreshes it).
'use strict';
const path = require('node:path');
// The launcher's own environment, like the other launchers: the AWS SDK warns on Node 20 about its releases
// after January 2027 (client-s3 is pinned below them); the warning would land in every command's stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const entry = path.join(__dirname, '..', 'dist', 'scripts', 'cli', 'main.js');
let cli;
try {
  cli = require(entry);
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes(entry)) {
    process.stderr.write('dbops is not built yet: run `npm run build` (or `npm ci`) in the dbops folder\n');
    process.exit(2);
  }
  throw err;
}
cli.runCli(process.argv).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`dbops: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
