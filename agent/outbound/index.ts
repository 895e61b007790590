// agent/outbound: the sidecar's outbound side (15001). It decides where each of the app's
// connections goes, from its original destination (transparent interception) or, in explicit
// mode, from the request itself, subscribes on demand to destinations the table does not know
// yet, and hands requests to the engine with an `outbound` site. mTLS origination to meshed
// endpoints belongs to the engine's connect step, shared with the ingress.
export { startOutbound } from './outbound-listener.ts';
export { isLoopbackPeer } from './explicit-access.ts';
export { resolveExplicit, splitAuthority } from './explicit-target.ts';
export { parseClusterNetworks, ClusterNetworksInvalidError, type ClusterNetworks } from './cluster-networks.ts';
export type { OutboundOptions, ProxyListenerHost, ListenerTimeouts } from './types.ts';
