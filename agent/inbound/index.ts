// agent/inbound: the sidecar's inbound side (15006). Connections redirected to the pod are
// handed to the engine with an `inbound` site and delivered to the app on their original port.
// mTLS termination, the caller's identity (x-forwarded-client-cert) and authorization belong here.
export { startInbound, type InboundOptions } from './inbound-listener.ts';
