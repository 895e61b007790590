#!/usr/bin/env bash
# `npm run test:bench` (a tier of `npm test`, after the unit tier): the bench harness's own tests.
# They guard what users read benchmark results from (ratios, block-bootstrap intervals, target
# verdicts, the report's tables), the load generator on loopback sockets, and the callgrind
# instruction counter, which needs valgrind. Never the benchmarks themselves (`npm run bench`:
# minutes, nginx/haproxy/wrk), and not the bench tests listed in SLOW below; `npm --prefix bench
# test` runs every bench test file. `npm run test:bench -- bench/lib/x.test.ts` runs only the files named.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v valgrind >/dev/null 2>&1 || ! command -v vgdb >/dev/null 2>&1; then
  echo "test:bench: valgrind (valgrind and vgdb) missing: bench/lib/instruction-count.test.ts checks the callgrind" >&2
  echo "test:bench: instruction counter. Install it: sudo bash scripts/install-system-deps.sh (or apt-get install valgrind)" >&2
  exit 1
fi
node=node_modules/.bin/node
[ -x "$node" ] || { echo "test:bench: $node missing: run npm ci first" >&2; exit 1; }
bash scripts/bench-deps.sh
# Bench test files left out of `npm test`, each with its reason (`npm --prefix bench test` runs them):
# one needing nginx, haproxy or wrk, or taking minutes, goes here. None today: every bench test
# file is self-contained (pure code, loopback sockets, callgrind on a shell loop); the slowest,
# bench/lib/meshlet-runtime.test.ts, compiles the tree once (~20 s on a loaded machine).
SLOW=()
shopt -s globstar nullglob
if [ $# -gt 0 ]; then
  files=("$@")
else
  files=()
  for f in bench/**/*.test.ts; do
    case "$f" in bench/node_modules/*) continue ;; esac
    for s in "${SLOW[@]}"; do [ "$f" = "$s" ] && continue 2; done
    files+=("$f")
  done
fi
[ ${#files[@]} -gt 0 ] || { echo "test:bench: no bench test files found" >&2; exit 1; }
exec "$node" --test --test-reporter=spec "${files[@]}"
