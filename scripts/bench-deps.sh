#!/usr/bin/env bash
# The bench harness's own npm dependencies (bench/package.json: hdr-histogram-js, http-proxy and
# its types). The root install does not bring them: bench/ is a package of its own so that the
# image and a production install never carry them. `npm test` type-checks, lints and unit-tests
# bench/, so `npm run typecheck`, `npm run lint` and `npm run test:bench` call this first; from a
# clean clone it runs `npm ci` in bench/ (registry or npm's cache, as the root `npm ci` does).
# Instant and silent when bench/node_modules is at least as new as bench/package-lock.json.
# Two callers at once (`npm run typecheck & npm run lint`, two helpers in one checkout) must not
# run two installs into one node_modules: the check and the install hold a lock (flock on this
# script), and whoever waited checks again and finds the other's install done.
set -euo pipefail
cd "$(dirname "$0")/../bench"
# npm writes node_modules/.package-lock.json at the end of every install: its age is the install's.
stamp=node_modules/.package-lock.json
fresh() { [ -f "$stamp" ] && [ ! package-lock.json -nt "$stamp" ]; }
if fresh; then exit 0; fi
if command -v flock >/dev/null 2>&1; then
  exec 9<"../scripts/bench-deps.sh"
  # Bounded: an install from npm's cache takes seconds, from the registry about a minute.
  flock -w 600 9 || { echo "bench deps: another install in bench/ still holds the lock after 600 s" >&2; exit 1; }
  if fresh; then exit 0; fi
else
  echo "bench deps: flock missing (util-linux): installing without a lock; do not run two at once" >&2
fi
echo "bench deps: npm ci in bench/ (bench/node_modules is missing or older than bench/package-lock.json)" >&2
npm ci --no-audit --no-fund --loglevel=error
