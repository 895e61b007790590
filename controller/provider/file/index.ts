// File provider: a directory of ordinary manifests (Gateway API objects, Services with
// clusterIP, EndpointSlices, Secrets) standing in for the Kubernetes API, for local development,
// VMs and tests (`--config DIR`). read-manifests.ts and watch-manifests.ts read and watch;
// file-table-source.ts has a worker (file-source-worker.ts, file-translator.ts) translate every
// settled change into a routing table off the serving thread, and broadcasts it (file mode's
// table source for agents, the ingress and the controller's publisher).
export * from './read-manifests.ts';
export * from './watch-manifests.ts';
export { FileTableSource, unhealthyConditions, type FileTableSourceOptions } from './file-table-source.ts';
