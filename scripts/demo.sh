#!/usr/bin/env bash
# `npm run demo`: from a fresh clone, bootstrap, start the local stack, and migrate the bundled HelloAgents
# sample SQLite database (users, courses (18), progress, code_submissions, chat_messages) into the local
# PostgreSQL (database `helloagents`, schema `public`), then print the result and the Web UI link.
set -euo pipefail
cd "$(dirname "$0")/.."
# The AWS SDK warns about client releases after January 2027 on Node 20; client-s3 is pinned below them.
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

bash scripts/bootstrap.sh
node dist/scripts/stack/main.js start

sample=.dbops/demo/helloagents.db
if [[ ! -f "$sample" ]]; then
  mkdir -p .dbops/demo
  node dist/scripts/sample/create-helloagents.js "$sample" --users 500
fi
# The demo's target database; created once (trust auth as root, as on this machine).
psql_ok=$(node -e '
  const pg = require("pg");
  const c = new pg.Client({ connectionString: "postgres://root@127.0.0.1:5432/postgres" });
  c.connect()
    .then(() => c.query("SELECT 1 FROM pg_database WHERE datname = $1", ["helloagents"]))
    .then(async (r) => { if (r.rowCount === 0) await c.query("CREATE DATABASE helloagents"); console.log("ok"); })
    .catch((e) => console.log(`error: ${e.message}`))
    .finally(() => c.end());')
if [[ "$psql_ok" != ok ]]; then
  echo "demo: cannot prepare database helloagents on 127.0.0.1:5432 ($psql_ok)" >&2
  exit 1
fi

id="demo-migrate-$(date -u +%Y%m%d-%H%M%S)"
echo
echo "Migrating $sample → postgres://root@127.0.0.1:5432/helloagents (schema public), workflow $id…"
status=0
node bin/dbops.js migrate --source "$PWD/$sample" --target postgres://root@127.0.0.1:5432/helloagents \
  --rollback-window 0 --id "$id" --wait || status=$?
echo
echo "Web UI (input, every step, retries, result): http://127.0.0.1:8233/namespaces/default/workflows/$id"
echo "Status from the CLI:                          npx dbops status $id"
echo "Look at the data:                              psql -h 127.0.0.1 -U root helloagents -c '\\dt'"
exit $status
