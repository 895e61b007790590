// agent/lifecycle: what every proxy process does besides proxying: serve the admin port, say
// when it is ready, drain on SIGTERM (stop accepting, finish in-flight work up to a deadline,
// then cut what is left) and close. The sidecar and the ingress share it. startup-reclaim runs
// one memory-reducing GC once the start has settled (idle memory).
export { runProxy, type RunningProxy, type ProxyParts } from './run-proxy.ts';
export { drainListeners, onSigterm, type Drainable, type SigtermOptions } from './drain.ts';
export { scheduleStartupReclaim, STARTUP_RECLAIM_MS, type StartupReclaim, type StartupReclaimOptions } from './startup-reclaim.ts';
