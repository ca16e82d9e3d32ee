# The dbops worker image. glibc base (the Temporal core bridge does not run on Alpine/musl); native
# better-sqlite3 is compiled in the build stage; the PostgreSQL 15 client tools are for pg_dump/pg_restore.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY common common
COPY config config
COPY activities activities
COPY workflows workflows
COPY workers workers
COPY scripts scripts
COPY bin bin
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates postgresql-client-15 mariadb-client redis-tools \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app /app
ENV NODE_ENV=production
# The artifact folder (and the source cache under it) belongs to the worker's user: a named volume mounted
# there starts with this ownership.
RUN mkdir -p /var/lib/dbops/artifacts && chown -R node:node /var/lib/dbops
USER node
# Two malloc arenas and a small young generation keep the worker's resident memory down (npm run bench:migrate).
ENV MALLOC_ARENA_MAX=2
# The AWS SDK's Node-version warning concerns client releases after January 2027; client-s3 is pinned.
ENV AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
# shutdownGraceTime (DBOPS_WORKER_SHUTDOWN_GRACE_SECONDS) must stay below the container's stop_grace_period.
CMD ["node", "--max-semi-space-size=2", "dist/workers/main.js"]
