#!/usr/bin/env bash
# `npm run test:e2e`: the end-to-end suite creates network namespaces, bridges and iptables rules,
# which needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN). CI (.ci/run) runs as root after
# scripts/install-system-deps.sh; a developer without root gets a clear message and exit 0.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "test:e2e: SKIPPED: the e2e suite needs root (network namespaces + iptables). CI runs it as root;" >&2
  echo "test:e2e: locally: sudo npm run test:e2e  (after: sudo bash scripts/install-system-deps.sh)" >&2
  exit 0
fi
for tool in ip iptables ip6tables; do
  command -v "$tool" >/dev/null 2>&1 || { echo "test:e2e: '$tool' missing: run bash scripts/install-system-deps.sh" >&2; exit 1; }
done
shopt -s nullglob
# `npm run test:e2e -- test/e2e/x.test.ts` runs only the files named; no argument runs them all.
if [ $# -gt 0 ]; then files=("$@"); else files=(test/e2e/*.test.ts); fi
if [ ${#files[@]} -eq 0 ]; then echo "test:e2e: no e2e tests" >&2; exit 0; fi
# The project's Node 24 (a devDependency), also when this script is run directly rather than
# through `npm run`, which is what puts node_modules/.bin first on PATH.
node=node_modules/.bin/node
[ -x "$node" ] || { echo "test:e2e: $node missing: run npm ci first" >&2; exit 1; }
# One file at a time: each builds its own namespaces and the machine has few cores.
exec "$node" --test --test-reporter=spec --test-concurrency=1 "${files[@]}"
