#!/usr/bin/env bash
# Benchmark prerequisites, run before every `npm run bench` (npm's prebench): nginx and haproxy
# (the reference proxies, and nginx as the upstream), wrk (validation and saturation), taskset
# and valgrind (telemetry-cost.ts --instructions counts with callgrind: no hardware counters in
# the containers we run on) from Debian when missing, and the harness's own npm dependencies. Idempotent and
# quiet when everything is present.
set -euo pipefail
cd "$(dirname "$0")"
need=()
for pair in nginx:nginx haproxy:haproxy wrk:wrk taskset:util-linux valgrind:valgrind; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || need+=("${pair##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then echo "bench setup: need root to install ${need[*]} (apt-get)" >&2; exit 1; fi
  echo "bench setup: installing ${need[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # policy-rc.d or not, never leave a system nginx/haproxy service running: the harness starts its own
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
export PATH="$PATH:/usr/sbin:/sbin"
if [ ! -f node_modules/hdr-histogram-js/package.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
