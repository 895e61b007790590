// agent/controller-client/: where the agent's routing tables come from when a controller runs
// the mesh. ControllerClient is a TableSource over the publisher's WebSocket stream (see
// api/wire.ts): hello with the pod's identity and subscriptions, on-demand subscription of
// destinations (ensureDestination, awaited by the sidecar before routing a connection it has
// no route for), ack/nack by version, last good table kept while the controller is away, and
// reconnects with backoff and jitter that resubscribe everything in the hello.
export { ControllerClient, controllerUrl, type ControllerClientOptions, type ControllerClientStats } from './controller-client.ts';
export { Backoff, type BackoffOptions } from './backoff.ts';
export { controllerClientMetrics } from './client-metrics.ts';
