#!/usr/bin/env bash
# Installs the Debian packages the test suite needs (e2e interception uses iptables and iproute2;
# the bench tier's instruction-counter test, valgrind).
# Idempotent and quiet when everything is already present; skipped when not root.
set -euo pipefail
need=()
for pair in iptables:iptables ip:iproute2 valgrind:valgrind; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair##*:}")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then echo "install-system-deps: not root, skipping ${need[*]}" >&2; exit 0; fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
