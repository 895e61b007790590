// Root rotation without a restart. Every replica re-reads Secret meshlet-system/meshlet-ca every
// few seconds (a GET of one object; a watch would need its own reconnect logic for the same
// effect). When its content changes and loads (loadCa's checks), the new CA issues from now on
// and the trust bundle becomes new roots + previous roots (TrustBundle), so certificates of both
// verify during the overlap; the previous roots are dropped once every leaf they signed has
// expired. A replaced Secret that does not load is logged and ignored: the mesh keeps its
// working CA rather than issuing certificates nobody can verify. A deleted Secret is the same:
// the current CA stays (bootstrap recreates one only at a start).
import { CA_SECRET } from '../../api/identity.ts';
import { materialOf } from './bootstrap.ts';
import { loadCa, type CaMaterial, type CertificateAuthority } from './ca.ts';
import { WORKLOAD_LIFETIME_MS } from './issue.ts';
import { paths, statusOf, type IdentityKubeClient, type SecretObject } from './kube.ts';
import { CLOCK_SKEW_MS } from './root.ts';
import { TrustBundle } from './trust-bundle.ts';

export interface CaWatcherOptions {
  client: IdentityKubeClient;
  /** The CA loaded at start and the material it came from. */
  initial: { ca: CertificateAuthority; material: CaMaterial };
  /** Called with the CA to use from now on (its rootsPem is the whole trust bundle). */
  onChange: (ca: CertificateAuthority, reason: string) => void;
  /** How long a previous root stays trusted (default: one workload lifetime plus clock skew). */
  retainMs?: number;
  /** Poll period (default 10 s). */
  intervalMs?: number;
  namespace?: string;
  name?: string;
  now?: () => number;
  log?: (line: string) => void;
}

const same = (a: CaMaterial, b: CaMaterial): boolean => a.caPem === b.caPem && a.certPem === b.certPem && a.keyPem === b.keyPem;

export class CaWatcher {
  readonly #o: CaWatcherOptions;
  readonly #bundle: TrustBundle;
  readonly #now: () => number;
  readonly #log: (line: string) => void;
  #material: CaMaterial;
  #ca: CertificateAuthority;
  /** The last material that failed to load: logged once, not at every poll. */
  #rejected: CaMaterial | null = null;
  #gone = false;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #current: Promise<void> = Promise.resolve();

  constructor(o: CaWatcherOptions) {
    this.#o = o;
    this.#material = o.initial.material;
    this.#ca = o.initial.ca;
    this.#bundle = new TrustBundle(o.initial.ca.rootsPem);
    this.#now = o.now ?? Date.now;
    this.#log = o.log ?? (() => undefined);
  }

  start(): void {
    this.#running = true;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#current;
  }

  /** One check now (tests, and the poll); checks never overlap. */
  check(): Promise<void> {
    const run = this.#current.then(() => this.#checkOnce());
    this.#current = run;
    return run;
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      void this.check().finally(() => this.#schedule());
    }, this.#o.intervalMs ?? 10_000);
    this.#timer.unref();
  }

  async #checkOnce(): Promise<void> {
    const ns = this.#o.namespace ?? CA_SECRET.namespace;
    const name = this.#o.name ?? CA_SECRET.name;
    const now = this.#now();
    let secret: SecretObject | null = null;
    try {
      secret = await this.#o.client.request<SecretObject>('GET', paths.secret(ns, name));
    } catch (err) {
      if (statusOf(err) !== 404) {
        this.#log(`identity: re-reading Secret ${ns}/${name} failed (keeping the current CA, retried): ${(err as Error).message}`);
        return this.#pruneOnly(now);
      }
    }
    if (secret === null) {
      if (!this.#gone) this.#log(`identity: Secret ${ns}/${name} is gone; keeping the current CA (a restart would generate a new root)`);
      this.#gone = true;
      return this.#pruneOnly(now);
    }
    this.#gone = false;
    const material = materialOf(secret);
    if (same(material, this.#material)) {
      this.#rejected = null;
      return this.#pruneOnly(now);
    }
    let ca: CertificateAuthority;
    try {
      ca = loadCa(material, new Date(now));
    } catch (err) {
      if (this.#rejected === null || !same(this.#rejected, material)) this.#log(`identity: Secret ${ns}/${name} changed but cannot be used; keeping the current CA: ${(err as Error).message}`);
      this.#rejected = material;
      return this.#pruneOnly(now);
    }
    this.#rejected = null;
    this.#material = material;
    const retained = this.#bundle.rotate(ca.rootsPem, now, this.#o.retainMs ?? WORKLOAD_LIFETIME_MS + CLOCK_SKEW_MS);
    this.#ca = { ...ca, rootsPem: this.#bundle.pems() };
    const why = retained.length === 0
      ? `the CA in Secret ${ns}/${name} changed (same roots), issuing from the new issuer until ${ca.notAfter.toISOString()}`
      : `root rotation: the CA in Secret ${ns}/${name} changed; issuing under the new root, trusting ${retained.length} previous root(s) too until ${new Date(now + (this.#o.retainMs ?? WORKLOAD_LIFETIME_MS + CLOCK_SKEW_MS)).toISOString()}`;
    this.#log(`identity: ${why}`);
    this.#o.onChange(this.#ca, why);
  }

  #pruneOnly(now: number): void {
    const gone = this.#bundle.prune(now);
    if (gone.length === 0) return;
    this.#ca = { ...this.#ca, rootsPem: this.#bundle.pems() };
    const why = `root rotation finished: dropped ${gone.length} previous root(s) from the trust bundle (every certificate they signed has expired)`;
    this.#log(`identity: ${why}`);
    this.#o.onChange(this.#ca, why);
  }
}
