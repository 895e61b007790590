// The injection webhook as runners: the AdmissionReview server on 15017 with the controller's
// serving certificate, and the patcher that keeps the MutatingWebhookConfiguration's caBundle
// equal to the mesh CA's roots (Istio's webhook patcher).
import { caBundlePatcher, startWebhook, webhookConfiguration, type CaBundlePatcher, type MeshConfig, type NamespaceMeta, type Webhook, type WebhookConfigClient } from '../../injector/index.ts';
import { metric } from '../../common/prometheus.ts';
import type { Runner } from './runner.ts';

export interface WebhookRunnerOptions {
  host: string;
  port: number;
  meshConfig: MeshConfig;
  serving: () => { certPem: string; keyPem: string };
  getNamespace: (name: string) => Promise<NamespaceMeta | undefined>;
  log: (line: string) => void;
}

export class WebhookRunner implements Runner {
  readonly name = 'webhook';
  readonly #o: WebhookRunnerOptions;
  #webhook: Webhook | null = null;

  constructor(o: WebhookRunnerOptions) {
    this.#o = o;
  }

  get port(): number | null {
    return this.#webhook?.port ?? null;
  }

  async start(): Promise<void> {
    const { certPem, keyPem } = this.#o.serving();
    this.#webhook = await startWebhook({ host: this.#o.host, port: this.#o.port, tls: { cert: certPem, key: keyPem }, meshConfig: this.#o.meshConfig, getNamespace: this.#o.getNamespace, log: this.#o.log });
    this.#o.log(`injection webhook on ${this.#o.host}:${this.#webhook.port}/inject`);
  }

  ready(): boolean {
    return this.#webhook !== null;
  }

  metrics(): string {
    const s = this.#webhook?.stats();
    if (!s) return '';
    return metric('meshlet_webhook_reviews_total', 'counter', 'AdmissionReviews answered, by outcome.', Object.entries(s).map(([outcome, value]: [string, number]) => ({ labels: { outcome }, value })));
  }

  async stop(): Promise<void> {
    await this.#webhook?.close();
  }
}

export interface CaBundleRunnerOptions {
  client: WebhookConfigClient;
  name: string;
  namespace: string;
  failurePolicy: 'Fail' | 'Ignore';
  rootsPem: () => string;
  log: (line: string) => void;
}

/** Keeps the caBundle current; creates the configuration when the chart did not. */
export class CaBundleRunner implements Runner {
  readonly name = 'ca-bundle';
  readonly #patcher: CaBundlePatcher;

  constructor(o: CaBundleRunnerOptions) {
    this.#patcher = caBundlePatcher({
      client: o.client, name: o.name, getCaBundlePem: o.rootsPem, log: o.log,
      template: () => webhookConfiguration({ name: o.name, namespace: o.namespace, failurePolicy: o.failurePolicy }),
    });
  }

  start(): Promise<void> {
    this.#patcher.start();
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return this.#patcher.stop();
  }
}
