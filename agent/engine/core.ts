// The shared state of one proxy process: the table in force, pools, balancers, budgets and the
// in-flight counter that drain waits on. The sidecar and the ingress each build one ProxyCore
// and hand it to their listeners.
import type { BackendIR, EndpointIR, RoutingTable, WeightedBackendIR } from '../../api/routing-table.ts';
import { EndpointBalancer, WeightedPickers, endpointKey } from '../balance/index.ts';
import type { CompiledTable } from '../route/index.ts';
import { compileTable } from '../route/index.ts';
import { TableHolder } from '../table-holder.ts';
import { UpstreamPools, poolKey, type PoolOptions } from './pools.ts';
import { DEFAULT_CONNECT } from './connect.ts';
import type { SecureContextCache } from '../identity/tls-options.ts';
import { RetryBudgets, type RetryBudgetOptions } from './retry-budget.ts';
import { InflightTracker } from './inflight.ts';
import { DEFAULT_STREAM_IDLE_TIMEOUT_MS, StreamIdleSweep } from './stream-idle.ts';
import { createLogger, toLogger, type Logger, type LogSink } from '../../common/logger.ts';

export interface CoreOptions {
  /** Where the proxy logs (a Logger, or a line callback in tests). */
  log?: LogSink;
  /** Bytes of request body held so that retries and mirrors can resend it (default 64 KiB). */
  retryBufferBytes?: number;
  retryBudget?: Partial<RetryBudgetOptions>;
  pool?: Partial<PoolOptions>;
  /** For tests: deterministic P2C sampling and backoff jitter. */
  random?: () => number;
  /** This proxy's workload certificate: meshed endpoints then get mutual TLS. */
  mtls?: SecureContextCache | null;
  /**
   * Request timeout for routes that set none, up to the response head (ADR 0006): 504 when it
   * fires. Default DEFAULT_REQUEST_TIMEOUT_MS; 0 disables it.
   */
  defaultRequestTimeoutMs?: number;
  /**
   * No request or response byte for this long ends the exchange (408 before the response,
   * else a reset): stream-idle.ts. Default DEFAULT_STREAM_IDLE_TIMEOUT_MS; 0 disables it.
   */
  streamIdleTimeoutMs?: number;
  /**
   * The default retry of routed requests whose route sets none (ADR 0022): one more attempt on
   * another endpoint when the first certainly reached no app. Default on, unless the process
   * environment says MESHLET_DEFAULT_RETRY=off; false turns it off (a route turns it off for its
   * rule with `retry: {attempts: 0}`).
   */
  defaultRetry?: boolean;
}

/** ADR 0006: Envoy's route timeout (15 s), but only until the response head, so streams live on. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

/** `off` turns the default retry off for the whole process (ADR 0022). */
export const DEFAULT_RETRY_ENV = 'MESHLET_DEFAULT_RETRY';

function keysOf(table: RoutingTable, key: (e: EndpointIR) => string): Set<string> {
  const keys = new Set<string>();
  for (const b of table.backends) for (const e of b.endpoints) keys.add(key(e));
  return keys;
}

function gone(next: RoutingTable, previous: RoutingTable | undefined, key: (e: EndpointIR) => string): Set<string> {
  const live = keysOf(next, key);
  const out = new Set<string>();
  if (previous) for (const k of keysOf(previous, key)) if (!live.has(k)) out.add(k);
  return out;
}

export class ProxyCore {
  readonly holder: TableHolder<CompiledTable>;
  readonly pools: UpstreamPools;
  readonly balancer: EndpointBalancer;
  readonly pickers = new WeightedPickers<WeightedBackendIR>((b) => b.weight);
  readonly budgets: RetryBudgets;
  readonly inflight = new InflightTracker();
  readonly logger: Logger;
  /** The logger as a line callback, for layers that take one (info level). */
  readonly log: (msg: string) => void;
  readonly retryBufferBytes: number;
  readonly random: () => number;
  /** null: no default request timeout. */
  readonly defaultRequestTimeoutMs: number | null;
  /** null: no stream idle timeout. */
  readonly streamIdleTimeoutMs: number | null;
  /** Watches every exchange for the stream idle timeout (null when there is none). */
  readonly streamIdle: StreamIdleSweep | null;
  /** Routed requests without a route retry get the default retry (ADR 0022). */
  readonly defaultRetry: boolean;
  readonly #backendMaps = new WeakMap<RoutingTable, Map<string, BackendIR>>();
  readonly #loggedOnce = new Set<string>();

  constructor(opts: CoreOptions = {}) {
    this.logger = toLogger(opts.log, createLogger({ fields: { component: 'meshlet' } }));
    this.log = (msg) => this.logger.info(msg);
    this.retryBufferBytes = opts.retryBufferBytes ?? 64 * 1024;
    this.random = opts.random ?? Math.random;
    const defaultTimeout = opts.defaultRequestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.defaultRequestTimeoutMs = defaultTimeout > 0 ? defaultTimeout : null;
    const idle = opts.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS;
    this.streamIdleTimeoutMs = idle > 0 ? idle : null;
    this.streamIdle = idle > 0 ? new StreamIdleSweep(idle) : null;
    this.defaultRetry = opts.defaultRetry ?? process.env[DEFAULT_RETRY_ENV] !== 'off';
    this.pools = new UpstreamPools({ ...opts.pool, connect: { ...DEFAULT_CONNECT, ...opts.pool?.connect, mtls: opts.mtls ?? null } });
    this.balancer = new EndpointBalancer({ random: this.random });
    this.budgets = new RetryBudgets(opts.retryBudget);
    this.holder = new TableHolder<CompiledTable>({
      compile: compileTable,
      log: (msg) => this.logger.warn(msg),
      onSwap: (next, previous) => {
        // Endpoints that left the table: close their pools, forget their latency history.
        // Destinations that were never in a table (inbound app ports, passthrough addresses)
        // are not touched here; the pools cap those by count.
        // Pools are keyed by address and identity: a pod IP that changes hands is evicted.
        this.pools.evict(gone(next.table, previous?.table, poolKey));
        this.balancer.evict(gone(next.table, previous?.table, endpointKey));
      },
    });
  }

  backends(table: RoutingTable): Map<string, BackendIR> {
    let m = this.#backendMaps.get(table);
    if (!m) {
      m = new Map(table.backends.map((b) => [b.name, b]));
      this.#backendMaps.set(table, m);
    }
    return m;
  }

  /** Logs `msg` the first time `key` is seen; bounded, so rule churn cannot grow it forever. */
  logOnce(key: string, msg: string): void {
    if (this.#loggedOnce.has(key)) return;
    if (this.#loggedOnce.size >= 1024) this.#loggedOnce.clear();
    this.#loggedOnce.add(key);
    this.logger.info(msg);
  }

  async close(): Promise<void> {
    await this.pools.close();
  }
}
