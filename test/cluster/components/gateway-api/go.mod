// Wrapper module: pins the Gateway API release whose CRDs (config/crd/standard and
// config/crd/experimental) the cluster tier installs; nothing here is compiled. go.sum pins the
// module's hash, so `go mod download` verifies the CRDs we read.
module meshlet.test/cluster/components/gateway-api

go 1.26.0

require sigs.k8s.io/gateway-api v1.6.3
