// controller/publish/: distribution of routing tables to agents. sliceTable() cuts the part of
// the table one agent needs (its subscribed destinations, inbound ports or Gateways, plus what
// they reference); the Publisher serves agents over WebSocket (port 15012), sends each one its
// slice whenever that slice changes, keeps their acks and nacks, and answers propagation() for
// the status writer's meshlet.dev/Propagated condition. Only a proven ingress (bearer token, or
// loopback when no token is configured) may subscribe to Gateways: they carry private keys;
// tokenReviewAuthenticator() optionally ties sidecars to their ServiceAccount tokens. The wire format lives in api/wire.ts.
export { sliceTable, routesIn, routeKey, canonicalIp, type Subscriptions } from './slice.ts';
export { Publisher, type PublisherOptions, type Propagation, type RouteRef, type AgentAcks } from './publisher.ts';
export { IngressUnauthenticatedError, checkIngress, isLoopbackAddress, tokensEqual, type IngressAuthOptions } from './ingress-auth.ts';
export { AgentUnauthenticatedError, tokenReviewAuthenticator, type TokenReviewClient, type TokenReviewOptions } from './token-review.ts';
export type { AgentStatus } from './agent-session.ts';
export { renderMetrics, type PublisherMetrics } from './metrics.ts';
export { RouteGenerations, routeFingerprints } from './route-generations.ts';
