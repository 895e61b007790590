// File provider: a directory of ordinary manifests (Gateway API objects, Services with
// clusterIP, EndpointSlices, Secrets) standing in for the Kubernetes API, for local development,
// VMs and tests (`--config DIR`). It reads and watches; translation is the caller's business.
export * from './read-manifests.ts';
export * from './watch-manifests.ts';
