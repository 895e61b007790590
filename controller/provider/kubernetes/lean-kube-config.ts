// The controller's cluster credentials without client-node's KubeConfig, for the configurations
// a controller meets: the in-cluster service account (the chart's case) and kubeconfig files
// whose user is a bearer token, a token file, a client certificate or a username and password.
// client-node's KubeConfig module imports client-node's whole generated API (every model and API
// class: gen/index.js) although the controller calls none of it; that import alone is ~30 MB of
// the controller's RSS (ADR 0019, 2026-12-07). Anything else (exec plugins, auth providers,
// impersonation, proxies, settings this file does not know) is handed to client-node's
// KubeConfig, loaded only then, so no configuration that worked before stops working.
// Behaviour follows client-node's: certificate and key files are read for every request
// (rotated files are picked up), a token file at most once a minute (bound service-account
// tokens are rotated by the kubelet), plain http only with TLS verification explicitly off.
import { readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { dirname, isAbsolute, join } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import { parse as parseYaml } from 'yaml';

/** What KubeClient, client-node's Watch and `meshlet check` need of a configuration (client-node's KubeConfig has it too). */
export interface KubeAuth {
  getCurrentCluster(): { server: string } | null;
  applySecurityAuthentication(ctx: AuthContext): Promise<void>;
}

/** The part of client-node's RequestContext authentication writes to. */
export interface AuthContext {
  setHeaderParam(key: string, value: string): void;
  setDispatcher(dispatcher: Dispatcher): void;
}

export interface LeanCluster {
  server: string;
  caFile?: string;
  /** base64, as in a kubeconfig */
  caData?: string;
  skipTLSVerify?: boolean;
  tlsServerName?: string;
}

export interface LeanUser {
  token?: string;
  tokenFile?: string;
  certFile?: string;
  certData?: string;
  keyFile?: string;
  keyData?: string;
  username?: string;
  password?: string;
}

/** A token file is read again after this long (client-go and client-node re-read each minute). */
export const TOKEN_FILE_TTL_MS = 60_000;

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

function fileOrData(file: string | undefined, data: string | undefined): Buffer | undefined {
  if (file) return readFileSync(file);
  if (data) return Buffer.from(data, 'base64');
  return undefined;
}

export class LeanKubeConfig implements KubeAuth {
  readonly cluster: LeanCluster;
  readonly user: LeanUser;
  readonly #now: () => number;
  #token: { value: string; readAt: number } | undefined;

  constructor(cluster: LeanCluster, user: LeanUser, now: () => number = Date.now) {
    this.cluster = cluster;
    this.user = user;
    this.#now = now;
  }

  getCurrentCluster(): { server: string } {
    return this.cluster;
  }

  #bearer(): string | undefined {
    if (this.user.token) return this.user.token;
    if (!this.user.tokenFile) return undefined;
    const now = this.#now();
    if (!this.#token || now - this.#token.readAt >= TOKEN_FILE_TTL_MS) {
      this.#token = { value: readFileSync(this.user.tokenFile, 'utf8').trim(), readAt: now };
    }
    return this.#token.value;
  }

  applySecurityAuthentication(ctx: AuthContext): Promise<void> {
    const c = this.cluster;
    const tls: Record<string, unknown> = {};
    if (c.skipTLSVerify) tls.rejectUnauthorized = false;
    if (c.tlsServerName) tls.servername = c.tlsServerName;
    const ca = fileOrData(c.caFile, c.caData);
    if (ca) tls.ca = ca;
    const cert = fileOrData(this.user.certFile, this.user.certData);
    if (cert) tls.cert = cert;
    const key = fileOrData(this.user.keyFile, this.user.keyData);
    if (key) tls.key = key;
    if (c.server.startsWith('http:') && !c.skipTLSVerify) {
      return Promise.reject(new Error('HTTP protocol is not allowed when skipTLSVerify is not set or false'));
    }
    if (this.user.username) ctx.setHeaderParam('Authorization', `Basic ${Buffer.from(`${this.user.username}:${this.user.password ?? ''}`).toString('base64')}`);
    const token = this.#bearer();
    if (token) ctx.setHeaderParam('Authorization', `Bearer ${token}`);
    // A pool per call, as client-node makes one: KubeClient keeps one for a while and takes the
    // next after that (kube-client.ts), each watch has its own.
    if (Object.keys(tls).length > 0) ctx.setDispatcher(new Agent({ connect: { ...tls, keepAlive: true, keepAliveInitialDelay: 30_000 } }));
    return Promise.resolve();
  }
}

/** The in-cluster service account, as client-node's loadFromCluster() reads it. */
export function inClusterConfig(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): LeanKubeConfig {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '';
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const server = `${scheme}://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  return new LeanKubeConfig({ server, caFile: join(dir, 'ca.crt'), skipTLSVerify: false }, { tokenFile: join(dir, 'token') });
}

const CLUSTER_KEYS = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'insecure-skip-tls-verify', 'tls-server-name']);
const USER_KEYS = new Set(['token', 'tokenFile', 'client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'username', 'password']);

type Named = { name?: unknown } & Record<string, unknown>;
const rec = (v: unknown): Record<string, unknown> | undefined => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

function named(list: unknown, name: unknown, field: string): Record<string, unknown> | undefined {
  if (!Array.isArray(list)) return undefined;
  return rec((list as Named[]).find((x) => rec(x)?.name === name)?.[field]);
}

/**
 * The current context of a kubeconfig file (YAML or JSON) when this file handles it, else null
 * (client-node's KubeConfig then loads it: exec plugins, auth providers, proxies, impersonation,
 * anything unknown, and malformed files, whose errors it words). Relative paths are relative to
 * the file, as kubectl reads them.
 */
export function leanFromFile(file: string): LeanKubeConfig | null {
  let doc: Record<string, unknown> | undefined;
  try {
    doc = rec(parseYaml(readFileSync(file, 'utf8')));
  } catch {
    return null;
  }
  if (!doc) return null;
  const context = named(doc.contexts, doc['current-context'], 'context');
  if (!context) return null;
  const cluster = named(doc.clusters, context.cluster, 'cluster');
  const user = named(doc.users, context.user, 'user') ?? {};
  const server = str(cluster?.server);
  if (!cluster || !server) return null;
  if (Object.keys(cluster).some((k) => !CLUSTER_KEYS.has(k)) || Object.keys(user).some((k) => !USER_KEYS.has(k))) return null;
  const path = (p: unknown): string | undefined => {
    const s = str(p);
    return s === undefined || isAbsolute(s) ? s : join(dirname(file), s);
  };
  const skip = cluster['insecure-skip-tls-verify'];
  return new LeanKubeConfig({
    server, caFile: path(cluster['certificate-authority']), caData: str(cluster['certificate-authority-data']),
    skipTLSVerify: skip === true || skip === 'true', tlsServerName: str(cluster['tls-server-name']),
  }, {
    token: str(user.token), tokenFile: path(user.tokenFile), certFile: path(user['client-certificate']), certData: str(user['client-certificate-data']),
    keyFile: path(user['client-key']), keyData: str(user['client-key-data']), username: str(user.username), password: str(user.password),
  });
}
