# syntax=docker/dockerfile:1
# One image for every role (controller, agent, ingress, init, wait): the `meshlet` binary from
# the JavaScript build (dist/) and production dependencies only.
#
# Both bases are pinned by digest (manifest-list digests, so every architecture is pinned) and
# given as build arguments: the defaults below are what we build, and a rebuild from the same
# commit uses the same bases. They must be the same Debian release and Node major, because the
# SO_ORIGINAL_DST addon is compiled in the first and loaded in the second.
# Where the digests come from: the node:24-bookworm / node:24-bookworm-slim manifest lists as
# published on Docker Hub (found pinned together in openclaw/openclaw's Dockerfile, refreshed there
# by Dependabot; this machine has no container engine to query the registry itself).
# To refresh them: `docker buildx imagetools inspect node:24-bookworm` and
# `docker buildx imagetools inspect node:24-bookworm-slim` print the current "Digest:"; replace
# both below in one commit (test/build/dockerfile.test.ts checks their shape), or override once:
#   docker build --build-arg BUILD_IMAGE=node:24-bookworm@sha256:<digest> \
#     --build-arg RUNTIME_IMAGE=node:24-bookworm-slim@sha256:<digest> -t meshlet/meshlet:0.1.0 .
# The runtime is the slim Node image plus iptables (run as uid 1337, never root): `meshlet init`
# (the injected init container) runs iptables-restore, which a distroless base does not have.
ARG BUILD_IMAGE=node:24-bookworm@sha256:3a09aa6354567619221ef6c45a5051b671f953f0a1924d1f819ffb236e520e6b
ARG RUNTIME_IMAGE=node:24-bookworm-slim@sha256:e8e2e91b1378f83c5b2dd15f0247f34110e2fe895f6ca7719dbb780f929368eb

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
ENV CI=true MESHLET_REQUIRE_NATIVE=1
# Dependencies first (cached while only sources change); `npm ci` runs the install hook, which
# compiles agent/native for this Node.
COPY package.json package-lock.json ./
COPY scripts/build-native.sh scripts/
COPY agent/native/binding.gyp agent/native/
COPY agent/native/src agent/native/src
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY api api
COPY common common
COPY controller controller
COPY agent agent
COPY ingress ingress
COPY injector injector
COPY cli cli
COPY bin bin
COPY examples examples
RUN npm run build \
 && rm dist/agent/native/build dist/examples \
 && mkdir -p dist/agent/native/build/Release \
 && cp agent/native/build/Release/meshlet_native.node dist/agent/native/build/Release/ \
 && cp -r examples dist/examples \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${RUNTIME_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables=1.8.* \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/meshlet
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
ENV NODE_ENV=production
# 1337 is the proxy's uid: `meshlet init` exempts it from interception.
USER 1337:1337
ENTRYPOINT ["node", "/opt/meshlet/dist/bin/meshlet.js"]
