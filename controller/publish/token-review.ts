// Sidecar authentication by Kubernetes ServiceAccount token (opt-in: `meshlet controller
// --agent-auth tokenreview`). A sidecar's hello carries its pod's projected token; the
// controller asks the apiserver (TokenReview) whose it is and refuses a hello whose claimed
// namespace, service account or pod differ. This ties a sidecar's subscriptions to its real
// namespace (consumer routes are per namespace) until workload mTLS replaces it. The ingress is
// not reviewed here: it proves itself with the shared ingress token (ingress-auth.ts).
import { MeshletError } from '../../api/errors.ts';
import type { HelloMessage } from '../../api/wire.ts';

/** A sidecar hello whose token is missing, invalid, or names someone else. */
export class AgentUnauthenticatedError extends MeshletError {
  constructor(message: string) {
    super('E_WIRE_AGENT_UNAUTHENTICATED', message);
  }
}

/** The part of KubeClient this needs (kept structural: publish/ does not depend on the provider). */
export interface TokenReviewClient {
  request<T>(method: 'POST', path: string, opts: { body: unknown; timeoutMs?: number }): Promise<T>;
}

export interface TokenReviewOptions {
  client: TokenReviewClient;
  /** Audiences the token must be valid for (the projected token's audience); empty: the apiserver's. */
  audiences?: string[];
  /** How long a reviewed token's answer is reused (reconnect storms; default 60 s). */
  cacheMs?: number;
  /**
   * The ingress's ServiceAccount: an ingress hello whose token reviews as this identity is
   * proven (and may then read Gateways with their keys); any other ingress claim is refused.
   */
  ingressIdentity?: { namespace: string; serviceAccount: string };
  now?: () => number;
}

interface Reviewed { namespace: string; serviceAccount: string; pod: string | null; at: number }

interface TokenReviewStatus {
  authenticated?: boolean;
  error?: string;
  user?: { username?: string; extra?: Record<string, string[] | undefined> };
}

const SA_PREFIX = 'system:serviceaccount:';
const POD_NAME_EXTRA = 'authentication.kubernetes.io/pod-name';
const CACHE_LIMIT = 10_000;

export interface TokenReviewAuthenticator {
  (hello: HelloMessage): Promise<void>;
  /** Whether this hello was an ingress whose token reviewed as the configured ingress identity. */
  provenIngress(hello: HelloMessage): boolean;
}

/**
 * An `authenticate` hook for the Publisher: reviews every sidecar hello's token; with
 * `ingressIdentity`, also every ingress hello that carries a token (one without falls back to
 * the shared ingress token or loopback in ingress-auth.ts).
 */
export function tokenReviewAuthenticator(opts: TokenReviewOptions): TokenReviewAuthenticator {
  const cache = new Map<string, Reviewed>();
  const now = opts.now ?? Date.now;
  const ttl = opts.cacheMs ?? 60_000;
  const proven = new WeakSet<HelloMessage>();
  const reviewed = async (token: string): Promise<Reviewed> => {
    let who = cache.get(token);
    if (!who || now() - who.at > ttl) {
      who = await review(opts, token, now());
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(token, who);
    }
    return who;
  };
  const authenticate = async (hello: HelloMessage): Promise<void> => {
    if (hello.agent.mode === 'ingress') {
      const id = opts.ingressIdentity;
      if (!id || hello.auth.type !== 'token') return;
      const who = await reviewed(hello.auth.token).catch(() => null);
      // Not the ingress's token (e.g. the shared bearer token): ingress-auth.ts decides.
      if (!who) return;
      if (who.namespace !== id.namespace || who.serviceAccount !== id.serviceAccount) {
        throw new AgentUnauthenticatedError(`the token belongs to ${who.namespace}/${who.serviceAccount}, not the ingress's ${id.namespace}/${id.serviceAccount}`);
      }
      proven.add(hello);
      return;
    }
    if (hello.auth.type !== 'token') throw new AgentUnauthenticatedError(`a sidecar must present its ServiceAccount token (auth type '${hello.auth.type}')`);
    const who = await reviewed(hello.auth.token);
    const a = hello.agent;
    if (who.namespace !== a.namespace || who.serviceAccount !== a.serviceAccount) {
      throw new AgentUnauthenticatedError(`the token belongs to ${who.namespace}/${who.serviceAccount}, not the claimed ${a.namespace}/${a.serviceAccount}`);
    }
    if (who.pod !== null && who.pod !== a.pod) throw new AgentUnauthenticatedError(`the token is bound to pod ${who.pod}, not the claimed ${a.pod}`);
  };
  return Object.assign(authenticate, { provenIngress: (hello: HelloMessage) => proven.has(hello) });
}

async function review(opts: TokenReviewOptions, token: string, at: number): Promise<Reviewed> {
  let res: { status?: TokenReviewStatus };
  try {
    res = await opts.client.request('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(opts.audiences?.length ? { audiences: opts.audiences } : {}) } },
    });
  } catch (err) {
    // Fails closed: no answer, no routes.
    throw new AgentUnauthenticatedError(`the token could not be reviewed: ${(err as Error).message}`);
  }
  const s = res.status ?? {};
  if (s.authenticated !== true) throw new AgentUnauthenticatedError(`the token was not accepted${s.error ? `: ${s.error}` : ''}`);
  const username = s.user?.username ?? '';
  const parts = username.startsWith(SA_PREFIX) ? username.slice(SA_PREFIX.length).split(':') : [];
  const [namespace, serviceAccount] = parts;
  if (parts.length !== 2 || !namespace || !serviceAccount) throw new AgentUnauthenticatedError(`the token is not a ServiceAccount's (${username || 'no username'})`);
  return { namespace, serviceAccount, pod: s.user?.extra?.[POD_NAME_EXTRA]?.[0] ?? null, at };
}
