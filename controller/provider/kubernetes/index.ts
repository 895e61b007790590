// Kubernetes provider: the controller's view of the cluster. Resilient informers on our own
// watch loop (bookmarks, relist only after 410, restart with backoff and jitter after other
// errors, missing Gateway API CRDs retried) for the kinds translation reads, cached with only
// what translation reads, per-name watches for the Secrets Gateways reference (no cluster-wide
// Secret cache), coalescing so a burst of changes becomes one Snapshot, and the credentials to
// reach the API server (client-node's KubeConfig only for exec plugins and the like). It reads
// and watches; translation and status writing are other folders' business.
export * from './errors.ts';
export * from './kube-client.ts';
export * from './load-config.ts';
export type { KubeAuth } from './lean-kube-config.ts';
export * from './kubernetes-provider.ts';
export { Backoff, type BackoffOptions } from './backoff.ts';
export { Coalescer } from './coalescer.ts';
export { WATCHED_RESOURCES, type WatchedResource } from './watched-resources.ts';
