// The injection webhook's HTTPS server: POST /inject with an AdmissionReview, answered within
// the API server's timeout. Self-contained so the controller process only starts and stops it.
// Defences: bodies over maxBodyBytes are refused (413) without being buffered, slow clients are
// cut off by requestTimeout, a failing or slow namespace lookup degrades to "labels unknown"
// (the API server's namespaceSelector has already chosen the namespace), and no request can
// throw out of the handler.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { MeshConfig } from '../inject/index.ts';
import { AdmissionReviewInvalidError, admit, isPodCreate, namespaceOf, parseReview, reviewOf, type NamespaceMeta } from './admission.ts';

export const WEBHOOK_PATH = '/inject';

export type WebhookTls = { cert: string | Buffer; key: string | Buffer } | { getSecureContext: (servername: string) => SecureContext };

export interface WebhookOptions {
  port: number;
  host?: string;
  /** A certificate for meshlet-controller.<ns>.svc, or a per-SNI lookup (the API server sends SNI). */
  tls: WebhookTls;
  meshConfig: MeshConfig;
  /** The namespace's labels and annotations; undefined or a throw means unknown (injection then
   * trusts the selector and uses the mesh defaults). */
  getNamespace?: (name: string) => Promise<NamespaceMeta | undefined>;
  log?: (line: string) => void;
  /** Default 4 MiB: a pod is at most ~1.5 MB in etcd; a review carries it once for CREATE. */
  maxBodyBytes?: number;
  /** How long a namespace lookup may take before it counts as unknown (default 2 s). */
  namespaceTimeoutMs?: number;
  /** Whole request, headers to answer (default 10 s, the webhook's timeoutSeconds). */
  requestTimeoutMs?: number;
}

export interface Webhook {
  readonly port: number;
  readonly server: Server;
  /** Counters since start, for the controller's metrics. */
  stats(): WebhookStats;
  /** Replaces the serving certificate (rotation) for new connections. */
  setCertificate(cert: string | Buffer, key: string | Buffer): void;
  close(): Promise<void>;
}

export interface WebhookStats {
  /** Pod CREATE reviews answered with a patch. */
  injected: number;
  /** Allowed without a patch: not a pod CREATE, not selected, or already as rendered. */
  unchanged: number;
  /** Denied: invalid annotations or a malformed pod. */
  denied: number;
  /** Refused before a review could be answered (400, 404, 405, 413, 415). */
  rejected: number;
  /** Internal errors (500). */
  errors: number;
}

class BodyTooLargeError extends Error {}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) return reject(new BodyTooLargeError());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLargeError());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = typeof body === 'string' ? `${body}\n` : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => { timer = setTimeout(() => resolve(undefined), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export async function startWebhook(opts: WebhookOptions): Promise<Webhook> {
  const log = opts.log ?? (() => {});
  const maxBody = opts.maxBodyBytes ?? 4 * 1024 * 1024;
  const nsTimeout = opts.namespaceTimeoutMs ?? 2000;
  const stats: WebhookStats = { injected: 0, unchanged: 0, denied: 0, rejected: 0, errors: 0 };

  async function namespaceMeta(name: string): Promise<NamespaceMeta | undefined> {
    if (!opts.getNamespace) return undefined;
    try {
      const meta = await withTimeout(opts.getNamespace(name), nsTimeout);
      if (meta === undefined) log(`namespace ${name}: labels unknown (lookup gave nothing within ${nsTimeout} ms); relying on the namespaceSelector`);
      return meta;
    } catch (err) {
      log(`namespace ${name}: lookup failed (${(err as Error).message}); relying on the namespaceSelector`);
      return undefined;
    }
  }

  function refuse(res: ServerResponse, status: number, message: string): void {
    stats.rejected += 1;
    send(res, status, message);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0];
    if (path !== WEBHOOK_PATH) return refuse(res, 404, `no such path; the webhook serves ${WEBHOOK_PATH}`);
    if (req.method !== 'POST') return refuse(res, 405, 'POST an AdmissionReview');
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return refuse(res, 415, 'Content-Type must be application/json');
    let body: string;
    try {
      body = await readBody(req, maxBody);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        res.setHeader('connection', 'close');
        return refuse(res, 413, `the AdmissionReview exceeds ${maxBody} bytes`);
      }
      throw err;
    }
    let review;
    try {
      review = parseReview(body);
    } catch (err) {
      if (err instanceof AdmissionReviewInvalidError) {
        log(`rejected a request: ${err.message}`);
        return refuse(res, 400, err.message);
      }
      throw err;
    }
    const meta = isPodCreate(review) ? await namespaceMeta(namespaceOf(review)) : undefined;
    const answer = admit(review, opts.meshConfig, meta);
    if (!answer.allowed) log(`denied a pod in ${namespaceOf(review)}: ${answer.status?.message ?? ''}`);
    stats[!answer.allowed ? 'denied' : answer.patch ? 'injected' : 'unchanged'] += 1;
    send(res, 200, reviewOf(answer));
  }

  const tlsOptions = 'getSecureContext' in opts.tls
    ? { SNICallback: (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => {
      try {
        cb(null, (opts.tls as { getSecureContext: (n: string) => SecureContext }).getSecureContext(name));
      } catch (err) {
        cb(err as Error);
      }
    } }
    : { cert: opts.tls.cert, key: opts.tls.key };
  const server = createServer({ ...tlsOptions, requestTimeout: opts.requestTimeoutMs ?? 10_000, headersTimeout: opts.requestTimeoutMs ?? 10_000 }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`internal error answering ${req.method ?? ''} ${req.url ?? ''}: ${(err as Error).stack ?? String(err)}`);
      stats.errors += 1;
      send(res, 500, 'internal error: the API server applies the webhook\'s failurePolicy');
    });
  });
  server.on('tlsClientError', (err) => log(`TLS handshake failed: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    stats: () => ({ ...stats }),
    setCertificate(cert, key) {
      server.setSecureContext({ cert, key });
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
