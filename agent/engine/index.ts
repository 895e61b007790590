// agent/engine: the proxy engine shared by the sidecar's inbound and outbound sides and the
// ingress: everything after a listener decided where a request goes. plan.ts asks the matcher
// and picks the backend by weight; http-handler.ts runs a request end to end (bodies streamed,
// buffered only within the retry bound); attempts.ts is the retry/timeout loop; send-h1.ts
// (undici pools) and send-h2.ts (one HTTP/2 session per endpoint) send one attempt; upgrade.ts
// and tcp-proxy.ts splice WebSocket and opaque TCP. connect.ts is the single place upstream
// connections are opened, where mTLS is originated. rejection.ts names each refusal's status and
// the reason a client may read (error-response.ts writes it). Each request, attempt and tunnel
// is published to telemetry/ events. h1-fast/ is the HTTP/1.1 fast path on raw sockets (ADR 0017),
// behind an option; it uses the same plan(), rejections and events.
export { ProxyCore, type CoreOptions } from './core.ts';
export { serveHttp, sitePerConnection, handleHttp, type HttpSite } from './http-handler.ts';
export { handleUpgrade } from './upgrade.ts';
export { spliceTcp } from './tcp-proxy.ts';
export { connectSocket, openSocket, UpstreamConnectError, type Endpoint } from './connect.ts';
export { BackendTimeoutError, RequestTimeoutError } from './attempts.ts';
export { RetryBudget, RetryBudgets, DEFAULT_RETRY_BUDGET, type RetryBudgetOptions } from './retry-budget.ts';
export type { Destination, Plan } from './plan.ts';
export type { Rejection } from './rejection.ts';
