// The agent config server (15012) as a runner. With the mesh CA on, it serves WebSocket over
// TLS with the controller's serving certificate (agents verify it against meshlet-root-ca) and
// answers CSRs. Other runners reach the Publisher through `publisher` once this one started.
import https from 'node:https';
import type net from 'node:net';
import { clientCertificateAuthenticator } from '../publish/client-cert-auth.ts';
import { Publisher, type PublisherOptions } from '../publish/index.ts';
import type { Runner } from './runner.ts';

export interface PublisherRunnerOptions extends PublisherOptions {
  /** The serving certificate: the config channel is then wss://. Re-read every tlsReloadMs
   * (a CA rotation re-issues it); new connections get the new one, open ones keep theirs. */
  tls?: () => { certPem: string; keyPem: string };
  tlsReloadMs?: number;
  /**
   * The mesh trust bundle: agents may then authenticate with their workload certificate (hello
   * auth client-certificate, see client-cert-auth.ts). Re-read with the serving certificate.
   */
  clientCa?: () => string;
  trustDomain?: string;
  /** The ingress's ServiceAccount, the one certificate identity that may subscribe to Gateways. */
  ingressIdentity?: { namespace: string; serviceAccount: string };
}

export class PublisherRunner implements Runner {
  readonly name = 'publisher';
  readonly #opts: PublisherRunnerOptions;
  #publisher: Publisher | null = null;
  #server: https.Server | null = null;
  #servedCert = '';
  #servedCa = '';
  #reload: NodeJS.Timeout | undefined;

  constructor(opts: PublisherRunnerOptions) {
    this.#opts = opts;
  }

  get publisher(): Publisher | null {
    return this.#publisher;
  }

  async start(): Promise<void> {
    const { tls, tlsReloadMs, clientCa, trustDomain, ingressIdentity, ...opts } = this.#opts;
    if (tls && clientCa) {
      const auth = clientCertificateAuthenticator({ trustDomain: trustDomain ?? 'cluster.local', ingressIdentity, next: opts.authenticate, nextProven: opts.ingressProven });
      opts.authenticate = auth;
      opts.ingressProven = (hello) => auth.provenIngress(hello);
    }
    const host = opts.host ?? '0.0.0.0';
    if (tls) {
      const { certPem, keyPem } = tls();
      this.#servedCert = certPem;
      this.#servedCa = clientCa?.() ?? '';
      const server = https.createServer({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2', ...this.#clientAuth() });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port ?? 15012, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.#server = server;
      this.#publisher = await Publisher.start({ ...opts, server });
      this.#reload = setInterval(() => this.reloadTls(), tlsReloadMs ?? 5_000);
      this.#reload.unref();
    } else {
      this.#publisher = await Publisher.start(opts);
    }
    this.#opts.log?.(`serving agents on ${tls ? 'wss' : 'ws'}://${host}:${this.port}`);
  }

  /** Serves the current certificate from tls() to new connections if it changed. */
  reloadTls(): void {
    const server = this.#server;
    if (!server || !this.#opts.tls) return;
    const { certPem, keyPem } = this.#opts.tls();
    const ca = this.#opts.clientCa?.() ?? '';
    if (certPem === this.#servedCert && ca === this.#servedCa) return;
    server.setSecureContext({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2', ...this.#clientAuth() });
    this.#servedCert = certPem;
    this.#servedCa = ca;
    this.#opts.log?.('config channel: serving the re-issued controller certificate (CA rotation)');
  }

  /** Ask for a client certificate, optional (a new pod's first connection has only its token). */
  #clientAuth(): { requestCert?: boolean; rejectUnauthorized?: boolean; ca?: string } {
    const ca = this.#opts.clientCa?.();
    return ca ? { requestCert: true, rejectUnauthorized: false, ca } : {};
  }

  get port(): number {
    return this.#server ? (this.#server.address() as net.AddressInfo).port : this.#publisher?.port ?? 0;
  }

  async stop(): Promise<void> {
    clearInterval(this.#reload);
    await this.#publisher?.close();
    const server = this.#server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }

  metrics(): string {
    return this.#publisher?.renderMetrics() ?? '';
  }
}
