# syntax=docker/dockerfile:1
# The memaudit image: `memaudit controller` for charts/memaudit and config/manager, and any other
# memaudit command (`docker run --rm IMAGE analyze --help`).
#
#   docker build -t memaudit:0.1.0 .
#
# This image has NEVER BEEN BUILT in the sandbox where memaudit is developed: no container
# registry is reachable there, so neither base image can be pulled. What the tests cover instead:
#   - test/unit/chart/dockerfile.test.ts reads this file: two stages, install from the lockfile
#     (npm ci, never npm install), dev dependencies pruned, a numeric non-root USER, the entrypoint
#     is the package's bin, OCI labels, and .dockerignore lets every COPY source through.
#   - test/e2e/helm.test.ts assembles the runtime tree of /app the way the stages below do (tsc
#     output, production dependencies only, package.json) in a temp dir, runs
#     `node dist/cli/bin.js --help` from it, and runs the controller from it against a real
#     kube-apiserver with the arguments and RBAC of `helm install charts/memaudit`.
# Not tested: the base images themselves, `npm ci` inside them, and the distroless runtime
# (its Node 24 is the latest 24.x; the tests use the repository's pinned Node 24).

# Build stage: the official Node 24 image (pin a digest for reproducible builds).
FROM node:24-slim AS build
WORKDIR /app
# The lockfile alone decides the dependency tree. No install scripts: the `node` devDependency
# would fetch a second Node 24 beside the image's own, and the others are not needed to build or
# run (ssh2's optional native addons for dockerode's SSH transport, which falls back to plain JS;
# protobufjs's version notice; @parcel/watcher, a dev tool). With them skipped, `npm run build`
# runs tsc on this image's Node.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# tsc -p tsconfig.build.json: src/ -> dist/, relative .ts imports rewritten to .js.
RUN npm run build
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime: Node 24 and nothing else (no shell, no package manager).
FROM gcr.io/distroless/nodejs24-debian12:nonroot
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="memaudit" \
      org.opencontainers.image.description="Tells page-cache growth from real memory leaks in containers and Go services, with evidence, and recommends memory limits" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /app
ENV NODE_ENV=production
# Owned by root and read-only to the process. package.json is needed at run time: its
# "type": "module" makes Node load dist/**/*.js as ES modules.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY LICENSE ./LICENSE
# Numeric, so the kubelet can verify runAsNonRoot (it cannot resolve a user name). 65532 is
# distroless's nonroot and the chart's runAsUser.
USER 65532:65532
# /metrics, /healthz, /readyz (--listen, default :8080).
EXPOSE 8080
# Kubernetes `args` replace CMD, so a Deployment passes `controller` plus flags, as
# charts/memaudit and config/manager do; with no arguments the image runs `memaudit controller`.
ENTRYPOINT ["/nodejs/bin/node", "/app/dist/cli/bin.js"]
CMD ["controller"]
