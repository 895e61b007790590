// Who a CSR is for. The token the agent sent is reviewed by the apiserver (TokenReview, audience
// meshlet-ca): it must be authenticated, valid for our audience (the apiserver says so in
// status.audiences, or it is not audience-aware and we refuse), a ServiceAccount's, and bound
// to a pod that still exists with the same uid; that pod must be the one asking, when it says.
// The identity is built from those answers alone and handed to issue.ts; the CSR contributes
// its public key and nothing else. An apiserver that cannot answer yields "try later", never a
// certificate (fail closed). answer() turns the result into the config channel's reply.
import { CA_TOKEN_AUDIENCE, formatSpiffeId, type CertificateErrorMessage, type CertificateMessage, type CsrMessage, type SpiffeId } from '../../api/identity.ts';
import type { CertificateAuthority } from './ca.ts';
import { CaUnavailableError, CsrError, CsrPodNotFoundError, CsrReviewUnavailableError, CsrUnauthenticatedError } from './errors.ts';
import { issueWorkloadCertificate, type IssuedCertificate } from './issue.ts';
import { paths, statusOf, type IdentityKubeClient } from './kube.ts';

export interface CsrAuthorizerOptions {
  client: IdentityKubeClient;
  /** The CA in force now (null before bootstrap finished). */
  ca: () => CertificateAuthority | null;
  trustDomain: string;
  audience?: string;
  lifetimeMs?: number;
  now?: () => Date;
  /** Per apiserver request (default 5 s): a slow review is "try later", not a hung agent. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface CsrRequest {
  csrPem: string;
  token: string;
  /** The pod the agent says it runs in (hello); must match the token's binding when given. */
  podName?: string;
}

export interface Authorized extends IssuedCertificate {
  identity: SpiffeId;
  spiffeId: string;
  pod: string;
}

interface TokenReviewStatus {
  authenticated?: boolean;
  error?: string;
  audiences?: string[];
  user?: { username?: string; extra?: Record<string, string[] | undefined> };
}

const SA_PREFIX = 'system:serviceaccount:';
const POD_NAME = 'authentication.kubernetes.io/pod-name';
const POD_UID = 'authentication.kubernetes.io/pod-uid';

export class CsrAuthorizer {
  readonly #o: CsrAuthorizerOptions;

  constructor(o: CsrAuthorizerOptions) {
    this.#o = o;
  }

  async authorize(req: CsrRequest): Promise<Authorized> {
    const who = await this.#review(req.token);
    if (req.podName !== undefined && req.podName !== who.pod) throw new CsrUnauthenticatedError(`the token is bound to pod ${who.namespace}/${who.pod}, not the claimed ${req.podName}`);
    await this.#checkPod(who);
    const ca = this.#o.ca();
    if (!ca) throw new CaUnavailableError('the CA is not loaded yet');
    const identity: SpiffeId = { trustDomain: this.#o.trustDomain, namespace: who.namespace, serviceAccount: who.serviceAccount };
    const issued = issueWorkloadCertificate(ca, { csrPem: req.csrPem, identity, now: (this.#o.now ?? (() => new Date()))(), lifetimeMs: this.#o.lifetimeMs });
    return { ...issued, identity, spiffeId: formatSpiffeId(identity), pod: who.pod };
  }

  /** The config channel's reply to a csr message; errors become certificate-error, never throw. */
  async answer(msg: CsrMessage, podName?: string): Promise<CertificateMessage | CertificateErrorMessage> {
    try {
      const a = await this.authorize({ csrPem: msg.csrPem, token: msg.token, podName });
      this.#o.log?.(`identity: issued ${a.spiffeId} to pod ${a.identity.namespace}/${a.pod}, valid until ${a.notAfter.toISOString()}`);
      return { type: 'certificate', id: msg.id, chainPem: a.chainPem, rootsPem: a.rootsPem, notAfter: a.notAfter.toISOString() };
    } catch (err) {
      const e = err instanceof CsrError ? err : new CaUnavailableError(`internal error while issuing: ${(err as Error).message}`);
      this.#o.log?.(`identity: refused a CSR${podName ? ` from pod ${podName}` : ''}: ${e.code}: ${e.message}`);
      return { type: 'certificate-error', id: msg.id, code: e.code, message: e.message, retryable: e.retryable };
    }
  }

  async #review(token: string): Promise<{ namespace: string; serviceAccount: string; pod: string; podUid: string | undefined }> {
    const audience = this.#o.audience ?? CA_TOKEN_AUDIENCE;
    let res: { status?: TokenReviewStatus } | undefined;
    try {
      res = await this.#o.client.request('POST', paths.tokenReviews, {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, audiences: [audience] } },
        timeoutMs: this.#o.timeoutMs ?? 5000,
      });
    } catch (err) {
      throw new CsrReviewUnavailableError(`the token could not be reviewed: ${(err as Error).message}`, { cause: err });
    }
    const s = res?.status ?? {};
    if (s.authenticated !== true) throw new CsrUnauthenticatedError(`the token was not accepted${s.error ? `: ${s.error}` : ''}`);
    if (!s.audiences?.includes(audience)) throw new CsrUnauthenticatedError(`the token is not for audience '${audience}' (reviewed audiences: ${(s.audiences ?? []).join(', ') || 'none'})`);
    const username = s.user?.username ?? '';
    const parts = username.startsWith(SA_PREFIX) ? username.slice(SA_PREFIX.length).split(':') : [];
    const [namespace, serviceAccount] = parts;
    if (parts.length !== 2 || !namespace || !serviceAccount) throw new CsrUnauthenticatedError(`the token is not a ServiceAccount's (${username || 'no username'})`);
    const pod = s.user?.extra?.[POD_NAME]?.[0];
    if (!pod) throw new CsrUnauthenticatedError(`the token of ${namespace}/${serviceAccount} is not bound to a pod (use the projected token with audience '${audience}')`);
    return { namespace, serviceAccount, pod, podUid: s.user?.extra?.[POD_UID]?.[0] };
  }

  async #checkPod(who: { namespace: string; serviceAccount: string; pod: string; podUid: string | undefined }): Promise<void> {
    let pod: { metadata?: { uid?: string }; spec?: { serviceAccountName?: string } };
    try {
      pod = await this.#o.client.request('GET', paths.pod(who.namespace, who.pod), { timeoutMs: this.#o.timeoutMs ?? 5000 });
    } catch (err) {
      if (statusOf(err) === 404) throw new CsrPodNotFoundError(`the token is bound to pod ${who.namespace}/${who.pod}, which no longer exists`);
      throw new CsrReviewUnavailableError(`pod ${who.namespace}/${who.pod} could not be looked up: ${(err as Error).message}`, { cause: err });
    }
    // Same name, new pod (a StatefulSet replica recreated): the old pod's token must not serve it.
    if (who.podUid !== undefined && pod.metadata?.uid !== who.podUid) throw new CsrPodNotFoundError(`the token is bound to pod ${who.namespace}/${who.pod} uid ${who.podUid}, which no longer exists (that name now has uid ${pod.metadata?.uid ?? 'none'})`);
    const sa = pod.spec?.serviceAccountName ?? 'default';
    if (sa !== who.serviceAccount) throw new CsrUnauthenticatedError(`pod ${who.namespace}/${who.pod} runs as ServiceAccount ${sa}, not the token's ${who.serviceAccount}`);
  }
}
