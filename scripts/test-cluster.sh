#!/usr/bin/env bash
# `npm run test:cluster`: the cluster tier. Builds the real components from their Go modules, or
# reuses this machine's cache (scripts/build-cluster-components.sh; needs Go >= 1.24 and the Go
# module proxy), then runs test/cluster/*.test.ts one file at a time: each file starts its own
# control plane. Component logs of a failing run stay in .tmp/cluster-box/ (the path is printed);
# MESHLET_BOX_KEEP_LOGS=1 keeps them for passing runs too.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  echo "test:cluster: FAILED: Go is not installed. The cluster tier builds etcd, kube-apiserver," >&2
  echo "test:cluster: kube-controller-manager and Jaeger from their Go modules: install Go >= 1.24." >&2
  exit 1
fi
# The test kubelet and the service proxy need iproute2 and iptables (Debian packages).
bash scripts/install-system-deps.sh
if ! components="$(bash scripts/build-cluster-components.sh)"; then
  echo "test:cluster: FAILED: building the cluster components failed (see the messages above)" >&2
  exit 1
fi
export MESHLET_CLUSTER_COMPONENTS="${components##*$'\n'}"
shopt -s nullglob
files=(test/cluster/*.test.ts)
if [ ${#files[@]} -eq 0 ]; then echo "test:cluster: no cluster tests" >&2; exit 1; fi
exec npx node --test --test-reporter=spec --test-concurrency=1 "${files[@]}"
