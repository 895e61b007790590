// agent/: the data plane. `meshlet agent` runs startSidecar() (outbound 15001, inbound 15006,
// admin 15020) and `meshlet ingress` runs the same engine behind Gateway listeners (ingress/).
// Folders, in the order a connection meets them: listener/ (accept, connection context,
// protocol detection); outbound/ and inbound/ (the sidecar's two sides: where a connection
// goes); engine/ (shared by both sides and the ingress: plan, filters, attempts, retries,
// timeouts, mirrors, pools, and connect.ts, the one place upstream connections are opened);
// route/ (the pure matcher); balance/ (weights, P2C + peak EWMA); lifecycle/ and admin/ (the
// admin port, readiness, drain); telemetry/ (diagnostics-channel events and their
// subscribers). Routing tables arrive through a TableSource (file mode or controller-client/)
// and are swapped atomically by TableHolder; intercept/ and native/ serve `meshlet init`.
export { startSidecar, type SidecarOptions, type RunningProxy, type OriginalDst } from './sidecar.ts';
export { ManualTableSource, type TableSource } from './table-source.ts';
export { TableHolder, type TableSnapshot } from './table-holder.ts';
export { onSigterm, drainListeners, runProxy, type Drainable, type SigtermOptions, type ProxyParts } from './lifecycle/index.ts';
export { ProxyCore, type CoreOptions } from './engine/core.ts';
