// The mesh CA as a runner: loads or creates the CA Secret (race-free across replicas), issues
// the controller's serving certificate (config channel and webhook, for the controller
// Service's DNS names), answers agents' CSRs over the config channel after TokenReview, and
// keeps the root bundle published in every injected namespace.
import type { CertificateErrorMessage, CertificateMessage, CsrMessage } from '../../api/identity.ts';
import type { HelloMessage } from '../../api/wire.ts';
import { bootstrapCa, CaWatcher, controllerDnsNames, CsrAuthorizer, issueServingCertificate, RootPublisher, type CertificateAuthority, type IdentityKubeClient, type ServingCertificate } from '../identity/index.ts';
import { metric } from '../../common/prometheus.ts';
import { INJECT_LABEL, INJECT_LABEL_ENABLED } from '../../api/names.ts';
import type { Runner } from './runner.ts';

export interface IdentityRunnerOptions {
  client: IdentityKubeClient;
  trustDomain: string;
  /** The controller's namespace and Service (its serving certificate's DNS names). */
  namespace: string;
  serviceName?: string;
  /** Extra DNS names or IPs for the serving certificate (tests: 'localhost'). */
  extraDnsNames?: string[];
  /** How often the CA Secret is re-read for a rotation (default 10 s). */
  caPollMs?: number;
  /**
   * A new root is trusted this long before certificates are issued under it (default 60 s):
   * every agent must hold the new root before a peer presents a certificate from it.
   */
  rotationGraceMs?: number;
  log: (line: string) => void;
}

export class IdentityRunner implements Runner {
  readonly name = 'identity';
  readonly #o: IdentityRunnerOptions;
  #ca: CertificateAuthority | null = null;
  #serving: ServingCertificate | null = null;
  #authorizer: CsrAuthorizer | null = null;
  #roots: RootPublisher | null = null;
  /** Labelled namespaces at the last observeNamespaces(). */
  #labelled = new Set<string>();
  #watcher: CaWatcher | null = null;
  #rotations = 0;
  #pending: NodeJS.Timeout | undefined;
  #push: (rootsPem: string[], renew: boolean) => number = () => 0;
  #issued = 0;
  #refused = 0;

  constructor(o: IdentityRunnerOptions) {
    this.#o = o;
  }

  async start(): Promise<void> {
    const { ca, created, material } = await bootstrapCa({ client: this.#o.client, trustDomain: this.#o.trustDomain, log: this.#o.log });
    this.#ca = ca;
    this.#o.log(`identity: mesh CA ${created ? 'created' : 'loaded'} (${ca.selfSigned ? 'generated root' : 'plug-in intermediate'}, issuing until ${ca.notAfter.toISOString()})`);
    this.#serving = this.#issueServing(ca);
    this.#authorizer = new CsrAuthorizer({ client: this.#o.client, ca: () => this.#ca, trustDomain: this.#o.trustDomain, log: this.#o.log });
    this.#roots = new RootPublisher({ client: this.#o.client, bundle: this.rootsPem, alwaysNamespaces: [this.#o.namespace], log: this.#o.log });
    await this.#roots.start();
    this.#watcher = new CaWatcher({ client: this.#o.client, initial: { ca, material }, intervalMs: this.#o.caPollMs, log: this.#o.log, onChange: (next) => this.#rotate(next) });
    this.#watcher.start();
  }

  /** Re-reads the CA Secret now (tests; the watcher also polls). */
  checkCa(): Promise<void> {
    return this.#watcher?.check() ?? Promise.resolve();
  }

  #issueServing(ca: CertificateAuthority): ServingCertificate {
    return issueServingCertificate(ca, { dnsNames: [...controllerDnsNames(this.#o.namespace, this.#o.serviceName), ...(this.#o.extraDnsNames ?? [])], now: new Date() });
  }

  /** Where trust-bundle pushes go (the publisher's connected agents); returns how many heard. */
  setTrustPush(push: (rootsPem: string[], renew: boolean) => number): void {
    this.#push = push;
  }

  /**
   * The CA Secret changed. A new root is rolled out in two steps, so no agent ever sees a
   * certificate it cannot verify: first the bundle (new + old roots) is published and pushed
   * while certificates are still issued by the old issuer; after rotationGraceMs the new issuer
   * takes over and agents are told to re-issue. A new issuer under roots everyone already
   * trusts, or an old root dropped, takes effect at once.
   */
  #rotate(next: CertificateAuthority): void {
    clearTimeout(this.#pending);
    this.#pending = undefined;
    const cur = this.#ca!;
    const trusted = new Set(cur.rootsPem);
    const newRoot = next.rootsPem.some((r) => !trusted.has(r));
    this.#rotations++;
    if (!newRoot) return this.#switchTo(next, next.issuer.certPem !== cur.issuer.certPem);
    this.#ca = { ...cur, rootsPem: next.rootsPem };
    this.#publish(false);
    const grace = this.#o.rotationGraceMs ?? 60_000;
    this.#o.log(`identity: root rotation step 1: trusting ${next.rootsPem.length} root(s); issuing under the new root in ${Math.round(grace / 1000)} s`);
    this.#pending = setTimeout(() => {
      this.#pending = undefined;
      this.#o.log('identity: root rotation step 2: issuing under the new root; agents re-issue their certificates now');
      this.#switchTo(next, true);
    }, grace);
    this.#pending.unref();
  }

  #switchTo(next: CertificateAuthority, renew: boolean): void {
    const issuerChanged = next.issuer.certPem !== this.#ca?.issuer.certPem;
    this.#ca = next;
    if (issuerChanged) this.#serving = this.#issueServing(next);
    this.#publish(renew);
  }

  #publish(renew: boolean): void {
    void this.#roots?.setBundle(this.rootsPem);
    const told = this.#push(this.#ca!.rootsPem, renew);
    this.#o.log(`identity: trust bundle (${this.#ca!.rootsPem.length} root(s)) pushed to ${told} agent(s)${renew ? ', asking them to re-issue' : ''}`);
  }

  ready(): boolean {
    return this.#ca !== null;
  }

  /**
   * The namespaces as the controller's watch sees them: one labelled for injection since the
   * last call gets meshlet-root-ca now, not at the next resync (its first pods cannot start
   * without the ConfigMap: the kubelet waits for it).
   */
  observeNamespaces(namespaces: { metadata: { name?: string; labels?: Record<string, string> } }[]): void {
    const labelled = new Set<string>();
    for (const n of namespaces) if (n.metadata.name && n.metadata.labels?.[INJECT_LABEL] === INJECT_LABEL_ENABLED) labelled.add(n.metadata.name);
    // The first observation checks every labelled namespace once (a read each when current): one
    // may have been labelled between start()'s round and the watch's first list.
    const fresh = [...labelled].filter((n) => !this.#labelled.has(n));
    this.#labelled = labelled;
    for (const name of fresh) void this.#roots?.syncNamespace(name);
  }

  /** The trust bundle as a list of root certificates (PEM each). */
  get roots(): string[] {
    return [...(this.#ca?.rootsPem ?? [])];
  }

  /** The trust bundle agents verify peers (and this controller) against. */
  get rootsPem(): string {
    return (this.#ca?.rootsPem ?? []).join('');
  }

  /** The controller's serving certificate (chain and key), for 15012 and 15017. */
  serving(): { certPem: string; keyPem: string } {
    if (!this.#serving) throw new Error('identity runner not started');
    return { certPem: this.#serving.chainPem.join(''), keyPem: this.#serving.keyPem };
  }

  /** The publisher's CSR hook: the pod named in the hello must be the token's. */
  readonly certificate = async (csr: CsrMessage, hello: HelloMessage): Promise<CertificateMessage | CertificateErrorMessage> => {
    if (!this.#authorizer) return { type: 'certificate-error', id: csr.id, code: 'E_CA_UNAVAILABLE', message: 'the CA is starting', retryable: true };
    const answer = await this.#authorizer.answer(csr, hello.agent.pod);
    if (answer.type === 'certificate') this.#issued++;
    else this.#refused++;
    return answer;
  };

  metrics(): string {
    const left = this.#ca ? Math.max(0, Math.floor((this.#ca.notAfter.getTime() - Date.now()) / 1000)) : 0;
    return metric('meshlet_ca_certificates_issued_total', 'counter', 'Workload certificates issued.', this.#issued)
      + metric('meshlet_ca_csr_refused_total', 'counter', 'CSRs answered with an error (unauthenticated, pod gone, review unavailable).', this.#refused)
      + metric('meshlet_ca_rotations_total', 'counter', 'Changes of the CA or its trust bundle picked up from the CA Secret without a restart.', this.#rotations)
      + metric('meshlet_ca_trusted_roots', 'gauge', 'Roots in the trust bundle (more than one during a root rotation).', this.#ca?.rootsPem.length ?? 0)
      + metric('meshlet_ca_issuer_expiry_seconds', 'gauge', 'Seconds until the CA\'s issuing chain expires.', left);
  }

  async stop(): Promise<void> {
    clearTimeout(this.#pending);
    await this.#watcher?.stop();
    await this.#roots?.stop();
  }
}
