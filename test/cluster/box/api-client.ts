// A deliberately thin kube-apiserver client for the box's tests: one JSON request over HTTPS,
// verified against the box CA, as the admin (client certificate) or as any bearer token. Tests
// assert on the real status codes and Status bodies, which a typed client would turn into throws.
import { request as httpsRequest } from 'node:https';

export interface ApiResponse {
  status: number;
  body: unknown;
}

export type ApiCredentials = { cert: string; key: string } | { token: string };

export interface RequestOptions {
  contentType?: string;
  timeoutMs?: number;
}

export class BoxApi {
  readonly url: string;
  private readonly ca: string;
  private readonly credentials: ApiCredentials;

  constructor(url: string, ca: string, credentials: ApiCredentials) {
    this.url = url;
    this.ca = ca;
    this.credentials = credentials;
  }

  /** The same API server, authenticated as a bearer token (e.g. a ServiceAccount's). */
  withToken(token: string): BoxApi {
    return new BoxApi(this.url, this.ca, { token });
  }

  request(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<ApiResponse> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = opts.contentType ?? 'application/json';
      // Node sends a DELETE body neither chunked nor with a length unless told: the API server
      // would then see no DeleteOptions at all.
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    if ('token' in this.credentials) headers.authorization = `Bearer ${this.credentials.token}`;
    const tls = 'cert' in this.credentials ? { cert: this.credentials.cert, key: this.credentials.key } : {};
    const timeoutMs = opts.timeoutMs ?? 15_000;
    return new Promise((resolve, reject) => {
      const req = httpsRequest(new URL(path, this.url), { method, headers, ca: this.ca, ...tls, agent: false, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            // not JSON (e.g. /readyz's "ok"): keep the text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  get(path: string): Promise<ApiResponse> {
    return this.request('GET', path);
  }

  post(path: string, body: unknown): Promise<ApiResponse> {
    return this.request('POST', path, body);
  }
}
