#!/usr/bin/env bash
# Builds the cluster tier's real components (etcd, kube-apiserver, kube-controller-manager,
# Jaeger) from their published Go modules, and copies the Gateway API CRDs, once per machine.
# The versions live only in the wrapper go.mod files under test/cluster/components/; the cache
# directory is keyed by them plus a hash of the wrappers, so a version bump rebuilds and an
# unchanged tree reuses. A build lands in a temporary directory and is renamed into place only
# when complete, so an interrupted build is never mistaken for a cached one.
#
# Prints the cache directory (bin/ + crds/) as its last line of stdout; progress goes to stderr.
# Env: MESHLET_CLUSTER_CACHE (default ~/.cache/meshlet/cluster), MESHLET_CLUSTER_REBUILD=1.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
COMPONENTS="$ROOT/test/cluster/components"
CACHE_ROOT="${MESHLET_CLUSTER_CACHE:-$HOME/.cache/meshlet/cluster}"

say() { printf '[cluster-build] %s\n' "$*" >&2; }
fail() { printf '[cluster-build] FAILED: %s\n' "$*" >&2; exit 1; }

GO="$(command -v go || true)"
[ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
[ -n "$GO" ] || fail "go is not installed (need Go >= 1.24 on PATH or in /usr/local/go/bin); the cluster tier builds its components from Go modules"
go_minor="$("$GO" env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
[ "${go_minor:-0}" -ge 24 ] 2>/dev/null || fail "$("$GO" env GOVERSION) is too old: need Go >= 1.24 (the wrappers use go.mod tool directives)"

# The version a wrapper requires, read from its go.mod (the one place versions are written).
required() { # <wrapper> <module>
  awk -v m="$2" '$1 == "require" && $2 == m { print $3 } $1 == m && $2 ~ /^v[0-9]/ { print $2 }' \
    "$COMPONENTS/$1/go.mod" | head -n 1
}
K8S="$(required kubernetes k8s.io/kubernetes)"
ETCD="$(required etcd go.etcd.io/etcd/server/v3)"
JAEGER="$(required jaeger github.com/jaegertracing/jaeger)"
GWAPI="$(required gateway-api sigs.k8s.io/gateway-api)"
for v in K8S ETCD JAEGER GWAPI; do [ -n "${!v}" ] || fail "cannot read the $v version from test/cluster/components/*/go.mod"; done

# Jaeger's v1.x module tags carry Jaeger v2 releases: v1.75.0 is v2.12.0 (minor - 63).
JAEGER_V2="v2.$(( $(echo "$JAEGER" | cut -d. -f2) - 63 )).$(echo "$JAEGER" | cut -d. -f3)"

wrapper_hash="$(cd "$COMPONENTS" && cat ./*/go.mod ./*/go.sum "$ROOT/scripts/build-cluster-components.sh" | sha256sum | cut -c1-10)"
KEY="k8s-${K8S}_etcd-${ETCD}_jaeger-${JAEGER}_gwapi-${GWAPI}_${wrapper_hash}"
DEST="$CACHE_ROOT/$KEY"

if [ -f "$DEST/complete" ] && [ "${MESHLET_CLUSTER_REBUILD:-0}" != 1 ]; then
  say "reusing $DEST"
  echo "$DEST"
  exit 0
fi

mkdir -p "$CACHE_ROOT"
WORK="$(mktemp -d "$CACHE_ROOT/.build-XXXXXX")"
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/bin" "$WORK/crds"
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath"
started=$SECONDS

build() { # <wrapper> <output name> <package> <ldflags>
  local t0=$SECONDS
  say "building $2 from $3 ($(( SECONDS - started ))s elapsed)"
  if ! (cd "$COMPONENTS/$1" && "$GO" build -ldflags "-s -w $4" -o "$WORK/bin/$2" "$3") >"$WORK/$2.log" 2>&1; then
    cat "$WORK/$2.log" >&2
    fail "go build of $2 ($3, wrapper test/cluster/components/$1) - see the output above; if the module proxy refused a version, try a neighbouring served one (go list -m -versions <module>)"
  fi
  say "built $2 in $(( SECONDS - t0 ))s"
}

say "Go $("$GO" env GOVERSION), proxy $("$GO" env GOPROXY); building into $DEST (first build: about 10 min on 2 cores, 2 GB of modules)"
KV="k8s.io/component-base/version"
K8S_LD="-X $KV.gitVersion=$K8S -X $KV.gitMajor=$(echo "${K8S#v}" | cut -d. -f1) -X $KV.gitMinor=$(echo "$K8S" | cut -d. -f2) -X $KV.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$K8S"
build etcd etcd go.etcd.io/etcd/server/v3 ""
build jaeger jaeger github.com/jaegertracing/jaeger/cmd/jaeger "-X github.com/jaegertracing/jaeger/internal/version.latestVersion=$JAEGER_V2"
build kubernetes kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver "$K8S_LD"
build kubernetes kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager "$K8S_LD"

say "reading the Gateway API $GWAPI CRDs"
gw_dir="$(cd "$COMPONENTS/gateway-api" && "$GO" mod download -json sigs.k8s.io/gateway-api | sed -n -E 's/^\s*"Dir": "(.*)",?$/\1/p')" \
  || fail "go mod download sigs.k8s.io/gateway-api@$GWAPI"
for channel in standard experimental; do
  [ -d "$gw_dir/config/crd/$channel" ] || fail "no config/crd/$channel in $gw_dir"
  mkdir -p "$WORK/crds/$channel"
  cp "$gw_dir/config/crd/$channel"/gateway.networking*.yaml "$WORK/crds/$channel/"
done

cat >"$WORK/versions.json" <<EOF
{"kubernetes":"$K8S","etcd":"$ETCD","jaeger":"$JAEGER_V2","jaegerModule":"$JAEGER","gatewayApi":"$GWAPI"}
EOF
touch "$WORK/complete"
rm -f "$WORK"/*.log
rm -rf "$DEST"
mv "$WORK" "$DEST"
trap - EXIT
say "done in $(( SECONDS - started ))s: $DEST"
echo "$DEST"
