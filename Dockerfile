# syntax=docker/dockerfile:1
# slipway controller image: `docker build -t ghcr.io/slipway-dev/slipway:0.1.0 .`
# (see README "Installing into a cluster"). Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 .

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: "prepare" would build before the sources are copied.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY api ./api
COPY analysis ./analysis
COPY cli ./cli
COPY controller ./controller
COPY sandbox ./sandbox
COPY bench ./bench
RUN npm run build

# ---- runtime: production dependencies, git, kubectl (also `kubectl kustomize`) ----
FROM ${NODE_IMAGE} AS runtime
ARG TARGETARCH=amd64
ARG KUBECTL_VERSION=v1.32.4
RUN apt-get update \
 && apt-get install -y --no-install-recommends git ca-certificates curl \
 && curl -fsSLo /usr/local/bin/kubectl "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH}/kubectl" \
 && curl -fsSLo /tmp/kubectl.sha256 "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH}/kubectl.sha256" \
 && echo "$(cat /tmp/kubectl.sha256)  /usr/local/bin/kubectl" | sha256sum --check \
 && chmod 0755 /usr/local/bin/kubectl \
 && rm /tmp/kubectl.sha256 \
 && apt-get purge -y curl && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY crds ./crds
COPY examples ./examples

# Non-root; the chart runs it with a read-only root filesystem and emptyDirs on /tmp and the cache.
RUN groupadd --system --gid 10001 slipway \
 && useradd --system --uid 10001 --gid slipway --home-dir /tmp --shell /usr/sbin/nologin slipway \
 && mkdir -p /var/cache/slipway \
 && chown slipway:slipway /var/cache/slipway
ENV HOME=/tmp SLIPWAY_HOME=/var/cache/slipway XDG_CACHE_HOME=/var/cache/slipway
USER 10001:10001
EXPOSE 8080

ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["controller", "--http-addr", "0.0.0.0:8080"]
