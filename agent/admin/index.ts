// agent/admin: the agent's admin port (15020): /live, /ready (drain and kubelet readiness key
// on it) and /config_dump (the routing table in force, its version, the last refusal; private
// keys redacted), /metrics (Prometheus text), and /app-health/<container>/<kind>, where the
// kubelet's rewritten probes run the app's original ones from inside the pod.
export { startAdminServer, type AdminServer, type AdminState } from './admin-server.ts';
export { AppHealth, type AppHealthOptions } from './app-health.ts';
export { AppProbersInvalidError, parseAppProbers } from './app-health-config.ts';
