# syntax=docker/dockerfile:1
# Two images from one build of `meshlet` (the JavaScript build, dist/, and production
# dependencies only), docs/adr/0015-runtime-and-init-images.md:
#   runtime (the default target)  controller, agent, ingress, wait: distroless Node 24, no shell,
#                                 no package manager, no iptables; uid 1337
#                                   docker build -t registry.example/meshlet:0.1.0 .
#   init (--target init)          `meshlet init`, the injected init container: Debian slim with
#                                 iptables, run as root with NET_ADMIN for about a second
#                                   docker build --target init -t registry.example/meshlet-init:0.1.0 .
#
# Every base is pinned by digest and given as a build argument: the defaults below are what we
# build, and a rebuild from the same commit uses the same bases. The SO_ORIGINAL_DST addon is
# compiled in BUILD_IMAGE and loaded in RUNTIME_IMAGE, so both are the same Debian release
# (bookworm = debian12: the addon is C over Node-API 8 and links only glibc 2.36) and the same
# Node major. INIT_IMAGE is that Debian release too (it loads the same node_modules).
# Where the digests come from (this machine has no container engine to query a registry):
#   node:24-bookworm, node:24-bookworm-slim  the Docker Hub manifest lists, as pinned together
#     in openclaw/openclaw's Dockerfile (refreshed there by Dependabot);
#   gcr.io/distroless/nodejs24-debian12      as pinned in ocelhq/ocel (platform/gcp) and other
#     public Dockerfiles; distroless publishes no Node patch tags, so the digest is the version.
# To refresh them: `docker buildx imagetools inspect node:24-bookworm`,
# `docker buildx imagetools inspect node:24-bookworm-slim` and
# `docker buildx imagetools inspect gcr.io/distroless/nodejs24-debian12` (or
# `crane digest ...`) print the current "Digest:"; replace them below in one commit
# (test/build/dockerfile.test.ts checks their shape), or override once:
#   docker build --build-arg BUILD_IMAGE=node:24-bookworm@sha256:<digest> \
#     --build-arg RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12@sha256:<digest> \
#     --build-arg INIT_IMAGE=node:24-bookworm-slim@sha256:<digest> -t meshlet/meshlet:0.1.0 .
ARG BUILD_IMAGE=node:24-bookworm@sha256:3a09aa6354567619221ef6c45a5051b671f953f0a1924d1f819ffb236e520e6b
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs24-debian12@sha256:61f4f4341db81820c24ce771b83d202eb6452076f58628cd536cc7d94a10978b
ARG INIT_IMAGE=node:24-bookworm-slim@sha256:e8e2e91b1378f83c5b2dd15f0247f34110e2fe895f6ca7719dbb780f929368eb

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
# /out/meshlet: `meshlet` on PATH for exec probes and hooks (the legacy sidecar's postStart runs
# `meshlet wait`). The runtime has no shell and no /usr/bin/env, so its interpreter line names
# distroless's node by absolute path; import() works whatever module type the file is given.
RUN npm run build \
 && rm dist/agent/native/build dist/examples \
 && mkdir -p dist/agent/native/build/Release /out \
 && cp agent/native/build/Release/meshlet_native.node dist/agent/native/build/Release/ \
 && cp -r examples dist/examples \
 && npm prune --omit=dev --no-audit --no-fund \
 && printf '#!/nodejs/bin/node\nimport("/opt/meshlet/dist/bin/meshlet.js");\n' > /out/meshlet \
 && chmod 0755 /out/meshlet

# The init container's image. It runs iptables-save/iptables-restore (nft or legacy, whichever
# the node uses), which needs the Debian packages and so a Debian userland. It runs as root:
# Kubernetes puts added capabilities (NET_ADMIN, NET_RAW) in a non-root process's bounding set
# only, never its effective set (no ambient capabilities), so uid 1337 could not program rules.
FROM ${INIT_IMAGE} AS init
RUN apt-get update \
 && apt-get install -y --no-install-recommends iptables=1.8.* \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/meshlet
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
ENV NODE_ENV=production
# hadolint ignore=DL3002
USER 0:0
ENTRYPOINT ["node", "/opt/meshlet/dist/bin/meshlet.js"]

# The runtime: controller, agent (sidecar), ingress, `meshlet wait`, the helm test pods.
FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /opt/meshlet
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY --from=build /out/meshlet /usr/local/bin/meshlet
# uid 1337 has no passwd entry here; HOME keeps os.homedir() from looking one up.
# MALLOC_ARENA_MAX=2: glibc's main arena and one shared by Node's helper threads (GC, compiler,
# libuv) instead of up to 8 per core, each keeping what it freed; an agent pair starts ~15 MB
# smaller and grows ~8 MB less on its first 100 MB stream, CPU per request unchanged (ADR 0012).
ENV NODE_ENV=production HOME=/tmp MALLOC_ARENA_MAX=2
# 1337 is the proxy's uid: `meshlet init` exempts it from interception.
USER 1337:1337
ENTRYPOINT ["/nodejs/bin/node", "/opt/meshlet/dist/bin/meshlet.js"]
