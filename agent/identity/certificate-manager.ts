// Keeps this agent's workload certificate: a fresh key and CSR per request, sent through the
// injected requestCertificate() (the config channel, wired by the composition), renewal at a
// jittered 45–55 % of the lifetime (Istio renews at 50 %, Linkerd at 70 %; jitter spreads a
// fleet issued together), retries with exponential backoff and jitter, and, while requests
// fail, the current certificate stays in use: a controller outage shorter than half a lifetime
// is invisible to traffic. Listeners hear of each new certificate; secondsLeft() feeds metrics.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { CertificateErrorMessage, CertificateMessage } from '../../api/identity.ts';
import { metric } from '../../common/prometheus.ts';
import { Backoff } from '../controller-client/backoff.ts';
import { buildCsr, generateWorkloadKey, type WorkloadKey } from './csr.ts';
import { CertificateAnswerInvalidError, CertificateRequestError } from './errors.ts';
import { spiffeIdOf } from './peer-identity.ts';

/** The controller's answer, as on the wire (the message id is the channel's business). */
export type CertificateAnswer = Omit<CertificateMessage, 'id'> | Omit<CertificateErrorMessage, 'id'>;

export interface WorkloadCertificate {
  keyPem: string;
  /** Leaf first, then intermediates. */
  chainPem: string[];
  rootsPem: string[];
  notBefore: Date;
  notAfter: Date;
  spiffeId: string;
}

export interface CertificateManagerOptions {
  requestCertificate: (csrPem: string) => Promise<CertificateAnswer>;
  /** The identity we expect (for the CSR hint and a log line if the CA says otherwise). */
  expectedSpiffeId?: string;
  log?: (line: string) => void;
  now?: () => number;
  random?: () => number;
  /** Fraction of the lifetime at which to renew, drawn uniformly (default 0.45–0.55). */
  renewFraction?: { min: number; max: number };
  retry?: { initialMs: number; maxMs: number };
  /** Key generation is injectable for tests that rotate often. */
  generateKey?: () => WorkloadKey;
}

/** setTimeout fires at once for longer delays; a long-lived certificate is renewed a bit early instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class CertificateManager {
  readonly name = 'workload-certificate';
  readonly #o: CertificateManagerOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #backoff: Backoff;
  readonly #listeners = new Set<(cert: WorkloadCertificate) => void>();
  #current: WorkloadCertificate | null = null;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #attempt: Promise<void> | null = null;
  #firstWaiters: ((cert: WorkloadCertificate) => void)[] = [];
  /** renewNow() during an attempt: another one right after it. */
  #again = false;
  #failures = 0;

  constructor(o: CertificateManagerOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#random = o.random ?? Math.random;
    this.#backoff = new Backoff({ initialMs: o.retry?.initialMs ?? 1000, maxMs: o.retry?.maxMs ?? 60_000, random: this.#random });
  }

  /** Schedules the first request at once and resolves; ready() waits for the certificate. */
  start(): Promise<void> {
    if (this.#running) return Promise.resolve();
    this.#running = true;
    this.#schedule(0);
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#attempt;
  }

  current(): WorkloadCertificate | null {
    return this.#current;
  }

  /** Resolves with the first certificate (at once if there is one). */
  ready(): Promise<WorkloadCertificate> {
    if (this.#current) return Promise.resolve(this.#current);
    return new Promise((resolve) => this.#firstWaiters.push(resolve));
  }

  /** Whole seconds until the current certificate expires; 0 without one or once expired. */
  secondsLeft(): number {
    return this.#current ? Math.max(0, Math.floor((this.#current.notAfter.getTime() - this.#now()) / 1000)) : 0;
  }

  /** Prometheus text: seconds left (alerting on it catches a controller away for too long) and failed requests. */
  metrics(): string {
    return metric('meshlet_workload_certificate_expiry_seconds', 'gauge', 'Seconds until this workload\'s certificate expires (0: none yet, or expired).', this.secondsLeft())
      + metric('meshlet_workload_certificate_request_failures_total', 'counter', 'Certificate requests that failed (the current certificate stayed in use).', this.#failures);
  }

  onChange(listener: (cert: WorkloadCertificate) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * A new trust bundle (the controller pushed a root rotation): peers are verified against it
   * from now on, with the same certificate. Listeners hear of it like of a new certificate.
   * Without a certificate yet, the next one brings its roots anyway.
   */
  setRoots(rootsPem: string[]): void {
    const cur = this.#current;
    if (!cur || rootsPem.length === 0 || (cur.rootsPem.length === rootsPem.length && cur.rootsPem.every((r, i) => r === rootsPem[i]))) return;
    this.#current = { ...cur, rootsPem };
    this.#log(`identity: trust bundle updated (${rootsPem.length} root(s)), keeping certificate ${cur.spiffeId}`);
    this.#notify(this.#current);
  }

  /** Renew now (e.g. the trust bundle rotated); the usual schedule follows. */
  renewNow(): void {
    if (!this.#running) return;
    if (this.#attempt) this.#again = true;
    else this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#attempt = this.#renew().then((next) => {
        this.#attempt = null;
        const again = this.#again;
        this.#again = false;
        if (this.#running) this.#schedule(again ? 0 : next);
      });
    }, delayMs);
    this.#timer.unref?.();
  }

  /** One request; resolves with the delay until the next (renewal or retry), never rejects. */
  async #renew(): Promise<number> {
    try {
      const cert = await this.#requestOnce();
      if (!this.#running) return 0;
      this.#install(cert);
      this.#backoff.reset();
      return this.#renewalDelay(cert);
    } catch (err) {
      this.#failures++;
      const retryable = !(err instanceof CertificateRequestError) || err.retryable;
      // A final refusal (pod gone, token refused) will not heal quickly: wait the longest step.
      const next = retryable ? this.#backoff.next() : (this.#o.retry?.maxMs ?? 60_000);
      const left = this.#current ? `keeping the current certificate (${this.secondsLeft()} s left)` : 'no certificate yet';
      if (this.#running) this.#log(`identity: certificate request failed, ${left}; retrying in ${Math.round(next / 1000)} s: ${(err as Error).message}`);
      return next;
    }
  }

  async #requestOnce(): Promise<WorkloadCertificate> {
    const key = (this.#o.generateKey ?? generateWorkloadKey)();
    const answer = await this.#o.requestCertificate(buildCsr(key, this.#o.expectedSpiffeId));
    if (answer.type === 'certificate-error') throw new CertificateRequestError(answer.code, answer.message, answer.retryable);
    return this.#check(key, answer);
  }

  #check(key: WorkloadKey, answer: Omit<CertificateMessage, 'id'>): WorkloadCertificate {
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(answer.chainPem[0] ?? '');
    } catch (err) {
      throw new CertificateAnswerInvalidError(`the issued certificate cannot be read: ${(err as Error).message}`, { cause: err });
    }
    if (!leaf.checkPrivateKey(createPrivateKey(key.privateKeyPem))) throw new CertificateAnswerInvalidError('the issued certificate is not for our key');
    const spiffeId = spiffeIdOf({ subjectaltname: leaf.subjectAltName ?? '' });
    if (!spiffeId) throw new CertificateAnswerInvalidError(`the issued certificate names no SPIFFE ID (${leaf.subjectAltName ?? 'no SAN'})`);
    if (this.#o.expectedSpiffeId && spiffeId !== this.#o.expectedSpiffeId) {
      this.#log(`identity: the CA issued ${spiffeId}, not the expected ${this.#o.expectedSpiffeId} (the token decides; check the pod's serviceAccountName)`);
    }
    return { keyPem: key.privateKeyPem, chainPem: answer.chainPem, rootsPem: answer.rootsPem, notBefore: leaf.validFromDate, notAfter: leaf.validToDate, spiffeId };
  }

  #install(cert: WorkloadCertificate): void {
    const first = this.#current === null;
    this.#current = cert;
    this.#log(`identity: ${first ? 'got' : 'renewed'} certificate ${cert.spiffeId}, valid until ${cert.notAfter.toISOString()}`);
    for (const w of this.#firstWaiters.splice(0)) w(cert);
    this.#notify(cert);
  }

  #notify(cert: WorkloadCertificate): void {
    for (const l of this.#listeners) {
      try {
        l(cert);
      } catch (err) {
        this.#log(`identity: a certificate listener failed: ${(err as Error).message}`);
      }
    }
  }

  #renewalDelay(cert: WorkloadCertificate): number {
    const { min, max } = this.#o.renewFraction ?? { min: 0.45, max: 0.55 };
    const life = cert.notAfter.getTime() - cert.notBefore.getTime();
    const at = cert.notBefore.getTime() + life * (min + (max - min) * this.#random());
    // At least one retry step: a certificate that is already half spent (clock skew, a CA about
    // to expire) must not turn into a request loop.
    return Math.min(MAX_TIMER_MS, Math.max(this.#o.retry?.initialMs ?? 1000, at - this.#now()));
  }

  #log(line: string): void {
    this.#o.log?.(line);
  }
}
