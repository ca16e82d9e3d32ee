#!/usr/bin/env bash
# `npm test`: bootstrap, start the local stack (idempotent), then lint + unit + integration tests against
# the real servers. What CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
# The AWS SDK warns about client releases after January 2027 on Node 20; client-s3 is pinned below them.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

bash scripts/bootstrap.sh
node dist/scripts/stack/main.js start
npm run --silent lint
npx --no-install vitest run "$@"
