// Keeps the caBundle of the MutatingWebhookConfiguration equal to the CA that signs the
// webhook's serving certificate (Istio's webhook patcher): at start, every intervalMs, and at
// once after notify() (the CA rotated). Only caBundle fields are written, guarded by a JSON
// Patch `test` on each webhook's name, so an edit made meanwhile is never overwritten. When the
// configuration is missing it is created if a template is given (installs without Helm), and
// otherwise reported until it appears.
import { caBundleOf, webhookConfigPath } from './webhook-config.ts';

/** The part of the controller's KubeClient this needs. */
export interface WebhookConfigClient {
  request<T>(method: 'GET' | 'POST' | 'PATCH', path: string, opts?: { body?: unknown; contentType?: string }): Promise<T>;
}

export interface CaBundlePatcherOptions {
  client: WebhookConfigClient;
  /** MutatingWebhookConfiguration name (default meshlet-injector). */
  name?: string;
  /** The CA's PEM now (read each time: rotation is picked up without a restart). */
  getCaBundlePem: () => string;
  /** Creates the configuration when it does not exist; caBundle is filled in by the patcher. */
  template?: () => Record<string, unknown>;
  intervalMs?: number;
  retryMs?: number;
  log?: (line: string) => void;
}

export type SyncResult = 'current' | 'patched' | 'created' | 'missing';

export interface CaBundlePatcher {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
  /** Ask for a sync now (the CA changed). */
  notify(): void;
  sync(): Promise<SyncResult>;
}

interface Mwc { webhooks?: { name?: string; clientConfig?: { caBundle?: string } }[] }

const LIST_PATH = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';

export function caBundlePatcher(opts: CaBundlePatcherOptions): CaBundlePatcher {
  const name = opts.name ?? 'meshlet-injector';
  const log = opts.log ?? (() => {});
  const interval = opts.intervalMs ?? 60_000;
  const retry = opts.retryMs ?? 5_000;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = true;

  async function sync(): Promise<SyncResult> {
    const want = caBundleOf(opts.getCaBundlePem());
    let mwc: Mwc;
    try {
      mwc = await opts.client.request<Mwc>('GET', webhookConfigPath(name));
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      if (!opts.template) {
        log(`MutatingWebhookConfiguration ${name} does not exist: pods are not injected until it is installed`);
        return 'missing';
      }
      const obj = opts.template() as Mwc;
      for (const w of obj.webhooks ?? []) w.clientConfig = { ...w.clientConfig, caBundle: want };
      await opts.client.request('POST', LIST_PATH, { body: obj });
      log(`created MutatingWebhookConfiguration ${name}`);
      return 'created';
    }
    const ops = (mwc.webhooks ?? []).flatMap((w, i) => (w.clientConfig?.caBundle === want ? [] : [
      { op: 'test', path: `/webhooks/${i}/name`, value: w.name },
      { op: 'add', path: w.clientConfig ? `/webhooks/${i}/clientConfig/caBundle` : `/webhooks/${i}/clientConfig`, value: w.clientConfig ? want : { caBundle: want } },
    ]));
    if (ops.length === 0) return 'current';
    await opts.client.request('PATCH', webhookConfigPath(name), { body: ops, contentType: 'application/json-patch+json' });
    log(`updated the caBundle of MutatingWebhookConfiguration ${name} (${ops.length / 2} webhook(s))`);
    return 'patched';
  }

  function schedule(ms: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
  }

  function tick(): void {
    running = sync().then(
      (r) => schedule(r === 'missing' ? retry : interval),
      (err: unknown) => {
        log(`caBundle sync of ${name} failed (retry in ${retry} ms): ${(err as Error).message}`);
        schedule(retry);
      },
    );
  }

  return {
    name: 'webhook-ca-bundle',
    start() {
      if (!stopped) return;
      stopped = false;
      tick();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    notify() {
      if (!stopped) schedule(0);
    },
    sync,
  };
}
