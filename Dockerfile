# The memaudit image: `memaudit controller` for charts/memaudit and config/manager, and any other
# memaudit command (`docker run --rm IMAGE analyze --help`).
#
#   docker build -t memaudit:0.1.0 .        # with a registry: the public bases below
#   npm run image                           # without one: memaudit:dev on bases assembled here
#
# The two bases are build arguments. Their defaults are the official Node 24 image (build) and
# distroless Node 24 (runtime). `npm run image` (hack/image.sh) passes bases assembled from Debian
# packages and the Node 24 binary of the npm `node` package instead, laid out the same way (node at
# /nodejs/bin/node in the runtime, npm and a shell in the build base), for machines that reach no
# image registry; that is how the image is built and run in test/cluster/ (a real kubelet and
# containerd run it as the chart's controller pod, non-root, with a read-only root filesystem).
# test/unit/chart/dockerfile.test.ts checks the invariants below.
ARG BUILD_IMAGE=node:24-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12:nonroot

# Build stage: Node 24 with npm (pin a digest for reproducible builds).
FROM ${BUILD_IMAGE} AS build
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
FROM ${RUNTIME_IMAGE}
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
