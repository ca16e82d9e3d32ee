#!/usr/bin/env bash
# `npm run demo`: from a fresh clone, bootstrap, start the local stack, and run a real workflow on it —
# the connection check of every configured database — then print the result and the Web UI link.
# (The SQLite → PostgreSQL migration of the bundled sample database replaces this once it lands.)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
node dist/scripts/stack/main.js start
id="demo-check-$(date -u +%Y%m%d-%H%M%S)"
echo
echo "Running workflow connectionCheck ($id) on the local stack…"
status=0
node bin/dbops.js check --id "$id" --wait || status=$?
echo
echo "Web UI (input, every activity, retries, result): http://127.0.0.1:8233/namespaces/default/workflows/$id"
echo "Status from the CLI:                              npx dbops status $id"
exit $status
