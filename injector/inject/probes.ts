// Probe rewriting (Istio's app_probe.go): the kubelet's httpGet, tcpSocket and gRPC probes would
// be intercepted and, under STRICT mTLS, refused, because the kubelet has no mesh certificate.
// They are pointed at the agent's admin port instead (`/app-health/<container>/<kind>`), and the
// originals travel to the agent in MESHLET_APP_PROBERS, which runs them against the app from
// inside the pod and answers with their result.
import { PORTS } from '../../api/names.ts';
import { PROBE_KINDS, appHealthPath, type AppProber, type AppProbers, type ProbeField } from '../../api/pod-env.ts';
import type { Container, Probe } from './types.ts';

const FIELDS = Object.keys(PROBE_KINDS) as ProbeField[];

function resolvePort(c: Container, port: number | string): number | null {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return c.ports?.find((p) => p.name === port)?.containerPort ?? null;
}

function withoutAction(p: Probe): Probe {
  const { httpGet: _h, tcpSocket: _t, grpc: _g, ...rest } = p;
  return rest;
}

/** The original action of `probe` for the agent, or a reason to leave the probe alone. */
function prober(c: Container, probe: Probe, excludedPorts: number[]): AppProber | string {
  const timeout = probe.timeoutSeconds !== undefined ? { timeoutSeconds: probe.timeoutSeconds } : {};
  const action = probe.httpGet ?? probe.tcpSocket ?? probe.grpc;
  if (action === undefined) return 'not a network probe';
  // A probe with a host goes somewhere else than the pod: interception does not touch it.
  if (typeof action.host === 'string' && action.host !== '') return 'has a host';
  const port = resolvePort(c, action.port);
  if (port === null) return `port '${String(action.port)}' is not a port of the container`;
  if (excludedPorts.includes(port)) return 'its port is excluded from interception';
  if (probe.httpGet) return { httpGet: { ...probe.httpGet, port } as AppProber['httpGet'] & object, ...timeout };
  if (probe.tcpSocket) return { tcpSocket: { ...probe.tcpSocket, port }, ...timeout };
  return { grpc: { ...probe.grpc!, port }, ...timeout };
}

/**
 * Rewrites the probes of `containers` in place and returns the originals by admin path.
 * Probes that reach the app without interception (exec, a host, an excluded port) stay as they are.
 */
export function rewriteProbes(containers: Container[], excludedPorts: number[], warnings: string[]): AppProbers {
  const out: AppProbers = {};
  for (const c of containers) {
    for (const field of FIELDS) {
      const probe = c[field];
      if (!probe) continue;
      const original = prober(c, probe, excludedPorts);
      if (typeof original === 'string') {
        if (original.startsWith('port ')) warnings.push(`container ${c.name}: ${field} left as is: ${original}`);
        continue;
      }
      const path = appHealthPath(c.name, field);
      out[path] = original;
      // scheme spelled out: it is what the API server's defaulting would add, so a reinvocation sees no change.
      c[field] = { httpGet: { path, port: PORTS.admin, scheme: 'HTTP' }, ...withoutAction(probe) };
    }
  }
  return out;
}

/** Undoes rewriteProbes() with the originals recorded in the agent's environment. */
export function restoreProbes(containers: Container[], probers: AppProbers): void {
  for (const c of containers) {
    for (const field of FIELDS) {
      const probe = c[field];
      const path = appHealthPath(c.name, field);
      const original = probers[path];
      if (!probe || !original || probe.httpGet?.path !== path || probe.httpGet.port !== PORTS.admin) continue;
      const { timeoutSeconds: _t, ...action } = original;
      c[field] = { ...action, ...withoutAction(probe) };
    }
  }
}
