// The app probes the kubelet sends to the admin port (`/app-health/<container>/<kind>`) after
// injection rewrote them: each runs the app's original probe from inside the pod, against the
// address the kubelet would have dialled (the probe's host, else the pod IP), within the
// probe's timeout, and answers 200 or 503 with the reason as a plain-text body. The agent's
// uid is exempt from interception and pod-local traffic leaves by loopback, so the probe
// reaches the app directly, never through the inbound proxy (and never needs mTLS).
import type http from 'node:http';
import type { AppProber, AppProbers } from '../../api/pod-env.ts';
import { createLogger, toLogger, type LogSink, type Logger } from '../../common/logger.ts';
import { probeGrpc } from './app-health-grpc.ts';
import { probeHttp } from './app-health-http.ts';
import { probeTcp } from './app-health-tcp.ts';
import type { ProbeOutcome, ProbeTarget } from './app-health-types.ts';

export interface AppHealthOptions {
  probers: AppProbers;
  /** The pod's IP ($POD_IP), which the kubelet probes; without it, 127.0.0.1. */
  podIp?: string;
  log?: LogSink;
}

/** Kubernetes' default timeoutSeconds. */
const DEFAULT_TIMEOUT_S = 1;

export class AppHealth {
  readonly #probers: AppProbers;
  readonly #podIp: string;
  readonly #log: Logger;
  /** Last verdict per path: failures are logged when they start and when they end, not on every period. */
  readonly #last = new Map<string, boolean>();

  constructor(opts: AppHealthOptions) {
    this.#probers = opts.probers;
    this.#podIp = opts.podIp !== undefined && opts.podIp !== '' ? opts.podIp : '127.0.0.1';
    this.#log = toLogger(opts.log, createLogger({ fields: { component: 'app-health' } }));
  }

  get paths(): string[] {
    return Object.keys(this.#probers);
  }

  /** Runs the probe behind `path`; null when no probe has that path. */
  async check(path: string, kubelet: { userAgent?: string; accept?: string } = {}): Promise<ProbeOutcome | null> {
    if (!Object.hasOwn(this.#probers, path)) return null;
    const outcome = await run(this.#probers[path]!, this.#podIp, kubelet);
    if (this.#last.get(path) !== outcome.ok) {
      if (!outcome.ok) this.#log.warn(`app probe ${path} failed: ${outcome.reason}`);
      else if (this.#last.has(path)) this.#log.info(`app probe ${path} passes again: ${outcome.reason}`);
      this.#last.set(path, outcome.ok);
    }
    return outcome;
  }
}

function run(p: AppProber, podIp: string, kubelet: { userAgent?: string; accept?: string }): Promise<ProbeOutcome> {
  const action = p.httpGet ?? p.tcpSocket ?? p.grpc!;
  const host = 'host' in action && action.host !== undefined && action.host !== '' ? action.host : podIp;
  const t: ProbeTarget = { host, port: action.port, timeoutMs: (p.timeoutSeconds ?? DEFAULT_TIMEOUT_S) * 1000, ...kubelet };
  if (p.httpGet) return probeHttp(p.httpGet, t);
  if (p.tcpSocket) return probeTcp(t);
  return probeGrpc(p.grpc!.service ?? '', t);
}

function text(res: http.ServerResponse, status: number, body: string): void {
  const line = `${body}\n`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(line) });
  res.end(line);
}

/** The admin server's handler for every path under /app-health/. */
export function serveAppHealth(health: AppHealth | null, path: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const kubelet = { userAgent: req.headers['user-agent'], accept: req.headers.accept };
  const pending = health?.check(path, kubelet) ?? Promise.resolve(null);
  pending.then(
    (outcome) => {
      if (outcome === null) text(res, 404, `no app probe at ${path} (known: ${health?.paths.join(', ') || 'none'})`);
      else text(res, outcome.ok ? 200 : 503, `${outcome.ok ? 'ok' : 'failed'}: ${outcome.reason}`);
    },
    (err: unknown) => text(res, 503, `failed: ${(err as Error).message}`),
  );
}
