// File provider: a directory of ordinary manifests (Gateway API objects, Services with
// clusterIP, EndpointSlices, Secrets) standing in for the Kubernetes API, for local development,
// VMs and tests (`--config DIR`). read-manifests.ts and watch-manifests.ts read and watch (one
// plain watch per directory, directory-watch.ts; a file written in place is read once stable;
// manifest-cache.ts parses again only the documents whose text changed);
// file-table-source.ts has a worker (file-source-worker.ts, file-translator.ts) translate every
// settled change into a routing table off the serving thread, and broadcasts it (file mode's
// table source for agents, the ingress and the controller's publisher). Importing this index
// loads neither the YAML parser nor the translator (they are the worker's, and readManifests
// loads the parser at its first call): file mode's serving thread never needs them (ADR 0012).
export { formatProblem, listManifestFiles, type LoadedObject, type ManifestProblem, type ReadResult } from './manifest-files.ts';
export { readManifests } from './read-manifests-lazily.ts';
export { manifestFingerprint, watchForChange, type ManifestWatcher, type WatchOptions } from './change-watch.ts';
export { unhealthyConditions } from './unhealthy-conditions.ts';
export { FileTableSource, type FileTableSourceOptions } from './file-table-source.ts';
