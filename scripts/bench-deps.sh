#!/usr/bin/env bash
# The bench harness's own npm dependencies (bench/package.json: hdr-histogram-js, http-proxy and
# its types). The root install does not bring them: bench/ is a package of its own so that the
# image and a production install never carry them. `npm test` type-checks, lints and unit-tests
# bench/, so `npm run typecheck`, `npm run lint` and `npm run test:bench` call this first; from a
# clean clone it runs `npm ci` in bench/ (registry or npm's cache, as the root `npm ci` does).
# Instant and silent when bench/node_modules is at least as new as bench/package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/../bench"
# npm writes node_modules/.package-lock.json at the end of every install: its age is the install's.
stamp=node_modules/.package-lock.json
if [ -f "$stamp" ] && [ ! package-lock.json -nt "$stamp" ]; then exit 0; fi
echo "bench deps: npm ci in bench/ (bench/node_modules is missing or older than bench/package-lock.json)" >&2
npm ci --no-audit --no-fund --loglevel=error
