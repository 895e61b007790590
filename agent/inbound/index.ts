// agent/inbound: the sidecar's inbound side (15006). Connections redirected to the pod are
// handed to the engine with an `inbound` site and delivered to the app on their original port.
// mTLS termination, the caller's identity (x-forwarded-client-cert) and authorization belong here.
export { startInbound, DENIED_HEADER, type InboundOptions, type InboundSide } from './inbound-listener.ts';
export { authorize, parseDefaultInboundPolicy, type DefaultInboundPolicy, type AuthzDecision } from './authorize.ts';
export { InboundMtls, parseMtlsMode, type MtlsMode } from './mesh-mtls.ts';
