// One lifecycle for every proxy process (sidecar and ingress): the admin server, readiness
// (a table in force and not draining), drain on demand, and close. The compositions only say
// how to drain their listeners and what to show in /config_dump.
import type { ProxyCore } from '../engine/core.ts';
import type { AppHealthOptions } from '../admin/app-health.ts';
import { startAdminServer } from '../admin/admin-server.ts';
import { proxyMetrics } from '../admin/proxy-metrics.ts';
import { ListenFailedError } from '../../api/errors.ts';

export interface RunningProxy {
  readonly ports: Record<string, number>;
  core: ProxyCore;
  /** Stop accepting, wait for in-flight work up to the deadline; true if all finished. */
  drain(deadlineMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface ProxyParts {
  core: ProxyCore;
  host: string;
  adminPort: number;
  mode: 'sidecar' | 'ingress';
  /** Listener ports by name (read on every access: the ingress's change with its tables). */
  ports(): Record<string, number>;
  /** Extra /config_dump fields. */
  info(): Record<string, unknown>;
  /** Stop following table sources (on close; a draining proxy still applies new tables). */
  unfollow(): void;
  /** First step of a drain (the ingress stops re-binding listeners as tables change). */
  beforeDrain?(): void;
  /** Stop accepting and wait for in-flight work up to the deadline. */
  drainListeners(deadlineMs: number): Promise<boolean>;
  /** More Prometheus text for /metrics (telemetry subscribers, the controller client). */
  metrics?: readonly (() => string)[];
  /** The app's original probes, served under the admin port's /app-health/ (sidecar only). */
  appProbers?: AppHealthOptions;
}

export async function runProxy(parts: ProxyParts): Promise<RunningProxy> {
  const { core } = parts;
  let draining = false;
  const admin = await startAdminServer(parts.host, parts.adminPort, {
    table: () => core.holder.current,
    ready: () => !draining && core.holder.current !== null,
    rejected: () => core.holder.rejected,
    lastError: () => core.holder.lastError,
    info: () => ({ mode: parts.mode, ...parts.info(), inflight: core.inflight.count }),
    metrics: () => proxyMetrics(core, parts.mode, parts.metrics),
    appProbers: parts.appProbers,
  }).catch((err: unknown) => {
    // No admin port means no /ready and no /live: a pod that could never become ready.
    throw new ListenFailedError('admin port', parts.host, parts.adminPort, err);
  });
  let closed: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      draining = true;
      parts.unfollow();
      await parts.drainListeners(0);
      await admin.close();
      await core.close();
    })();
    return closed;
  };
  return {
    get ports() {
      return { ...parts.ports(), admin: admin.port };
    },
    core,
    drain: async (deadlineMs) => {
      draining = true;
      parts.beforeDrain?.();
      const clean = await parts.drainListeners(deadlineMs);
      await close();
      return clean;
    },
    close,
  };
}
