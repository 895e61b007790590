#!/usr/bin/env bash
# Builds helm from its Go module (helm.sh/helm/v4/cmd/helm) once per machine, into the same cache
# root as the cluster tier (scripts/build-cluster-components.sh), so chart tests render with a real
# helm and no prebuilt binary is downloaded. The directory is keyed by the version; a build lands
# in a temporary directory and is renamed into place only when complete.
#
# Prints the helm binary's path as its last line of stdout; progress goes to stderr.
# Env: MESHLET_CLUSTER_CACHE (default ~/.cache/meshlet/cluster), MESHLET_HELM_VERSION.
set -euo pipefail

HELM_VERSION="${MESHLET_HELM_VERSION:-v4.3.2}"
CACHE_ROOT="${MESHLET_CLUSTER_CACHE:-$HOME/.cache/meshlet/cluster}"
DEST="$CACHE_ROOT/helm-$HELM_VERSION"

say() { printf '[helm-build] %s\n' "$*" >&2; }
fail() { printf '[helm-build] FAILED: %s\n' "$*" >&2; exit 1; }

if [ -x "$DEST/bin/helm" ] && [ -f "$DEST/complete" ]; then
  echo "$DEST/bin/helm"
  exit 0
fi

GO="$(command -v go || true)"
[ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
[ -n "$GO" ] || fail "go is not installed (need Go on PATH or in /usr/local/go/bin); helm is built from its Go module"

mkdir -p "$CACHE_ROOT"
WORK="$(mktemp -d "$CACHE_ROOT/.helm-build-XXXXXX")"
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT
say "building helm $HELM_VERSION (a few minutes the first time)"
# `go install mod@version` resolves the module's own go.mod (with its replace-free graph) and
# ignores any workspace, which is what a reproducible tool build wants.
CGO_ENABLED=0 GOTOOLCHAIN=local GOBIN="$WORK/bin" "$GO" install -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >&2 || fail "go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION"
touch "$WORK/complete"
rm -rf "$DEST"
mv "$WORK" "$DEST"
trap - EXIT
say "built $DEST/bin/helm"
echo "$DEST/bin/helm"
