// The agent config server (15012) as a runner. With the mesh CA on, it serves WebSocket over
// TLS with the controller's serving certificate (agents verify it against meshlet-root-ca) and
// answers CSRs. Other runners reach the Publisher through `publisher` once this one started.
import https from 'node:https';
import type net from 'node:net';
import { Publisher, type PublisherOptions } from '../publish/index.ts';
import type { Runner } from './runner.ts';

export interface PublisherRunnerOptions extends PublisherOptions {
  /** The serving certificate, read at start: the config channel is then wss://. */
  tls?: () => { certPem: string; keyPem: string };
}

export class PublisherRunner implements Runner {
  readonly name = 'publisher';
  readonly #opts: PublisherRunnerOptions;
  #publisher: Publisher | null = null;
  #server: https.Server | null = null;

  constructor(opts: PublisherRunnerOptions) {
    this.#opts = opts;
  }

  get publisher(): Publisher | null {
    return this.#publisher;
  }

  async start(): Promise<void> {
    const { tls, ...opts } = this.#opts;
    const host = opts.host ?? '0.0.0.0';
    if (tls) {
      const { certPem, keyPem } = tls();
      const server = https.createServer({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2' });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port ?? 15012, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      this.#server = server;
      this.#publisher = await Publisher.start({ ...opts, server });
    } else {
      this.#publisher = await Publisher.start(opts);
    }
    this.#opts.log?.(`serving agents on ${tls ? 'wss' : 'ws'}://${host}:${this.port}`);
  }

  get port(): number {
    return this.#server ? (this.#server.address() as net.AddressInfo).port : this.#publisher?.port ?? 0;
  }

  async stop(): Promise<void> {
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
