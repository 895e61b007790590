// agent/admin: the agent's admin port (15020): /live, /ready (drain and kubelet readiness key
// on it) and /config_dump (the routing table in force, its version, the last refusal; private
// keys redacted) and /metrics (Prometheus text).
export { startAdminServer, type AdminServer, type AdminState } from './admin-server.ts';
