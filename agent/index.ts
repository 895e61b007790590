// agent/: the data plane. `meshlet agent` runs startSidecar() (outbound 15001, inbound 15006,
// admin 15020) and `meshlet ingress` runs the same layers behind Gateway listeners (ingress/).
// Layers, in the order a request meets them: listener/ (accept, protocol detection), route/
// (the pure matcher), outbound/ (filters, attempts, retries, timeouts, mirrors, pools, and
// connect.ts, the one place upstream connections are opened), balance/ (weights, P2C + peak
// EWMA). Routing tables arrive through a TableSource and are swapped atomically by TableHolder.
export { startSidecar, type SidecarOptions, type RunningProxy, type OriginalDst } from './sidecar.ts';
export { ManualTableSource, type TableSource } from './table-source.ts';
export { TableHolder, type TableSnapshot } from './table-holder.ts';
export { onSigterm, drainListeners, type Drainable, type SigtermOptions } from './drain.ts';
export { ProxyCore, type CoreOptions } from './outbound/core.ts';
