// ingress/: `meshlet ingress`, the agent in gateway mode. One process serves the listeners of
// every Gateway of meshlet's class: it binds each distinct listener port found in the routing
// table (re-binding as tables change), picks the Gateway for each request by port and Host,
// adds X-Forwarded-For/-Proto, and then runs the same layers as the sidecar (matcher,
// filters, weighted backends, attempts, pools). HTTPS termination by SNI plugs into the
// listener layer's `tls` hook (see listener-set.ts).
export { startIngress, type IngressOptions, type RunningIngress } from './ingress.ts';
export { selectGateway } from './gateway-select.ts';
export { addForwardedHeaders } from './forwarded.ts';
