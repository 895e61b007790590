#!/usr/bin/env bash
# Finds the schemas the chart's rendered manifests are validated against, offline after the first
# run: the Kubernetes OpenAPI v3 documents (api/openapi-spec/v3 of the k8s.io/kubernetes module) and
# the Gateway API CRDs (config/crd of sigs.k8s.io/gateway-api), at the versions the cluster tier
# runs (read from test/cluster/components/*/go.mod, the one place versions are written).
# `go mod download` fetches them from the Go module proxy once into the module cache.
#
# Prints two lines on stdout: the kubernetes module directory, then the gateway-api one.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
COMPONENTS="$ROOT/test/cluster/components"
fail() { printf '[k8s-schemas] FAILED: %s\n' "$*" >&2; exit 1; }

GO="$(command -v go || true)"
[ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
[ -n "$GO" ] || fail "go is not installed (need Go on PATH or in /usr/local/go/bin); the schemas come from Go modules"

required() { # <wrapper> <module>
  awk -v m="$2" '$1 == "require" && $2 == m { print $3 } $1 == m && $2 ~ /^v[0-9]/ { print $2 }' \
    "$COMPONENTS/$1/go.mod" | head -n 1
}
module_dir() { # <wrapper> <module>
  local version dir
  version="$(required "$1" "$2")"
  [ -n "$version" ] || fail "cannot read the $2 version from test/cluster/components/$1/go.mod"
  dir="$(cd "$COMPONENTS/$1" && GOTOOLCHAIN=local GOFLAGS=-mod=mod "$GO" mod download -json "$2@$version" \
    | sed -n -E 's/^\s*"Dir": "(.*)",?$/\1/p')" || fail "go mod download $2@$version"
  [ -n "$dir" ] || fail "go mod download $2@$version printed no directory"
  echo "$dir"
}

k8s="$(module_dir kubernetes k8s.io/kubernetes)"
[ -d "$k8s/api/openapi-spec/v3" ] || fail "no api/openapi-spec/v3 in $k8s"
gw="$(module_dir gateway-api sigs.k8s.io/gateway-api)"
[ -d "$gw/config/crd/standard" ] || fail "no config/crd/standard in $gw"
echo "$k8s"
echo "$gw"
