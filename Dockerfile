# The worker image: Node 24, production dependencies only, non-root, workflow bundle checked at build.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY activities ./activities
COPY client ./client
COPY common ./common
COPY d1 ./d1
COPY worker ./worker
COPY workflows ./workflows
COPY scripts ./scripts
USER node
CMD ["node", "client/cli.ts", "worker"]
