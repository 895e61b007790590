// test/cluster/box/: the cluster tier's "cluster in a box": real etcd, kube-apiserver,
// kube-controller-manager and Jaeger, built from their Go modules by
// scripts/build-cluster-components.sh, started on free loopback ports with real TLS,
// ServiceAccount signing keys, RBAC and the admission chain, and stopped (temp dirs removed,
// logs kept on failure) by stop(). Later layers (the test kubelet, the user journey) build on
// startBox() and the thin BoxApi client; nothing here knows about meshlet itself.
export { startBox, firstServiceIp, type Box, type BoxClient, type BoxOptions } from './box.ts';
export { BoxApi, type ApiCredentials, type ApiResponse, type RequestOptions } from './api-client.ts';
export { eventually } from './eventually.ts';
export { installGatewayApiCrds, applyClusterScoped, readManifests } from './gateway-crds.ts';
export { locateComponents, type Components, type ComponentVersions } from './components.ts';
export { ComponentProcess, type ComponentSpec, type Readiness } from './component-process.ts';
export { ClusterComponentsMissingError, ComponentStartError } from './errors.ts';
export type { JaegerEndpoints } from './jaeger.ts';
export { createCa, issueClientCert, issueServingCert, type KeyPairPem } from './pki.ts';
