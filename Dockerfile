# syntax=docker/dockerfile:1
# Switchboard: one image, three roles.
#   API (default)      node api/main.ts
#   core worker        node workers/core.ts
#   media worker       node workers/media.ts   (needs ffmpeg and poppler-utils, installed below)
#   migrations         node db/migrate.ts up      (one-shot, before the API and the workers)
# Node 24 runs the TypeScript sources directly (type stripping), so there is no compile step. The
# only build product is the Temporal workflow bundle, made here once so workers never bundle at start.

FROM node:24-bookworm-slim AS build
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# Production dependencies are enough: every package the API, the workers and the migrations import
# is a dependency, and @temporalio/worker brings the bundler (webpack, swc) as its own dependency.
# `npm install`, not `npm ci`, as in scripts/sb.sh: the lockfile lacks other platforms' optional
# binaries (@swc/core-darwin-*, …), which `npm ci` refuses; the versions it does pin are kept.
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY activities/ activities/
COPY api/ api/
COPY db/ db/
COPY domain/ domain/
COPY lib/ lib/
COPY platforms/ platforms/
COPY workers/ workers/
COPY workflows/ workflows/
# Writes dist/workflow-bundle.js, the WORKFLOW_BUNDLE_PATH default (keep that default at run time).
RUN node workers/build-bundle.ts

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
# The media pipeline's tools, from Debian; /data holds exports and local storage (a volume).
RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg poppler-utils \
    && rm -rf /var/lib/apt/lists/* && mkdir -p /data && chown node:node /data
# Owned by root and only readable by the app: nothing under /app is written at run time.
COPY --from=build /app /app
USER node
EXPOSE 3000
CMD ["node", "api/main.ts"]
