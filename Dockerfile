# syntax=docker/dockerfile:1
# One image for every role (controller, agent, ingress, init, wait): the `meshlet` binary from
# the JavaScript build (dist/) and production dependencies only.
#
# Both bases are pinned by digest and given as build arguments, with no default, so an image is
# never built from a floating tag. They must be the same Debian release and Node major, because
# the SO_ORIGINAL_DST addon is compiled in the first and loaded in the second:
#   docker build \
#     --build-arg BUILD_IMAGE=node:24-bookworm@sha256:<digest> \
#     --build-arg RUNTIME_IMAGE=node:24-bookworm-slim@sha256:<digest> -t meshlet/meshlet:0.1.0 .
# (`docker buildx imagetools inspect node:24-bookworm-slim` prints the current digest.)
# The runtime is the slim Node image plus iptables: `meshlet init` (the injected init container)
# runs iptables-restore, which a distroless base does not have.
ARG BUILD_IMAGE
ARG RUNTIME_IMAGE

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
