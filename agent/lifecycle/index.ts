// agent/lifecycle: what every proxy process does besides proxying: serve the admin port, say
// when it is ready, drain on SIGTERM (stop accepting, finish in-flight work up to a deadline,
// then cut what is left) and close. The sidecar and the ingress share it.
export { runProxy, type RunningProxy, type ProxyParts } from './run-proxy.ts';
export { drainListeners, onSigterm, type Drainable, type SigtermOptions } from './drain.ts';
