// The controller process as a list of runners: the mesh CA first (its certificate serves the
// other ports), the agent config server (others hand it tables), the translation loop (cluster)
// or the manifest directory (file mode), the injection webhook and its caBundle patcher, then
// the admin port.
import type { FileTableSource } from '../provider/file/index.ts';
import type { PublisherOptions } from '../publish/index.ts';
import type { MeshConfig, NamespaceMeta, WebhookConfigClient } from '../../injector/index.ts';
import { AdminRunner } from './admin-runner.ts';
import { IdentityRunner, type IdentityRunnerOptions } from './identity-runner.ts';
import { CaBundleRunner, WebhookRunner } from './webhook-runner.ts';
import { FileSourceRunner } from './file-source-runner.ts';
import { PublisherRunner } from './publisher-runner.ts';
import { startRunners, type Runner, type RunningRunners } from './runner.ts';
import { TranslationRunner, type ControllerOptions } from './translation-runner.ts';

export interface ControlPlaneConfig {
  log: (line: string) => void;
  /** The Kubernetes API (cluster mode) or a started, ready manifest directory (file mode). */
  source: { kind: 'cluster'; controller: Omit<ControllerOptions, 'publisher' | 'log'> } | { kind: 'file'; files: FileTableSource };
  /** The agent config server; null: no agents served (status writing only). */
  /** ingressIdentity: the certificate identity that may subscribe to Gateways (with the mesh CA). */
  publish: (Omit<PublisherOptions, 'log'> & { ingressIdentity?: { namespace: string; serviceAccount: string } }) | null;
  /** The admin port; null: none. */
  admin: { host: string; port: number } | null;
  /** The mesh CA (cluster mode): certificates for agents, wss on 15012, the root bundle published. */
  identity?: Omit<IdentityRunnerOptions, 'log'> | null;
  /** The injection webhook on 15017 (needs `identity` for its certificate) and its caBundle. */
  webhook?: {
    host: string; port: number; meshConfig: MeshConfig; configName: string; namespace: string;
    failurePolicy: 'Fail' | 'Ignore'; client: WebhookConfigClient;
    getNamespace: (name: string) => Promise<NamespaceMeta | undefined>;
  } | null;
  /** Further runners, started after the others and before the admin port. */
  extra?: Runner[];
}

export interface ControlPlane extends RunningRunners {
  identity: IdentityRunner | null;
  webhook: WebhookRunner | null;
  publisher: PublisherRunner | null;
  translation: TranslationRunner | null;
  admin: AdminRunner | null;
}

/** The CA publishes meshlet-root-ca into a namespace as soon as the watch sees it labelled. */
function withNamespaceWatch<T extends Pick<ControllerOptions, 'onTranslated'>>(controller: T, identity: IdentityRunner | null): T {
  if (!identity) return controller;
  const next = controller.onTranslated;
  return { ...controller, onTranslated: (result, snapshot) => { identity.observeNamespaces(snapshot.namespaces); next?.(result, snapshot); } };
}

export async function startControlPlane(config: ControlPlaneConfig): Promise<ControlPlane> {
  const { log } = config;
  const identity = config.identity ? new IdentityRunner({ ...config.identity, log }) : null;
  const publisher = config.publish
    ? new PublisherRunner({ ...config.publish, log, ...(identity ? { tls: () => identity.serving(), certificate: identity.certificate, trustBundle: () => identity.roots, clientCa: () => identity.rootsPem, trustDomain: config.identity!.trustDomain } : {}) })
    : null;
  identity?.setTrustPush((rootsPem, renew) => publisher?.publisher?.pushTrustBundle(rootsPem, renew) ?? 0);
  const tables = () => publisher?.publisher ?? null;
  const translation = config.source.kind === 'cluster' ? new TranslationRunner({ ...withNamespaceWatch(config.source.controller, identity), log, publisher: publisher ? tables : undefined }) : null;
  const source: Runner = translation ?? new FileSourceRunner((config.source as { files: FileTableSource }).files, tables);
  const w = config.webhook;
  if (w && !identity) throw new Error('the injection webhook needs the mesh CA (its serving certificate)');
  const webhook = w && identity ? new WebhookRunner({ host: w.host, port: w.port, meshConfig: w.meshConfig, serving: () => identity.serving(), getNamespace: w.getNamespace, log }) : null;
  const caBundle = w && identity ? new CaBundleRunner({ client: w.client, name: w.configName, namespace: w.namespace, failurePolicy: w.failurePolicy, rootsPem: () => identity.rootsPem, log }) : null;
  const runners: Runner[] = [identity, publisher, source, webhook, caBundle, ...(config.extra ?? [])].filter((r): r is Runner => r !== null);
  const admin = config.admin ? new AdminRunner({ ...config.admin, runners: () => runners, log }) : null;
  if (admin) runners.push(admin);
  const running = await startRunners(runners, log);
  return { ...running, identity, webhook, publisher, translation, admin };
}
