// The controller process as a list of runners: the agent config server first (others hand it
// tables), then the translation loop (cluster) or the manifest directory (file mode), then the
// admin port. The CA, the injection webhook and the root-CA publisher join as further runners.
import type { FileTableSource } from '../provider/file/index.ts';
import type { PublisherOptions } from '../publish/index.ts';
import { AdminRunner } from './admin-runner.ts';
import { FileSourceRunner } from './file-source-runner.ts';
import { PublisherRunner } from './publisher-runner.ts';
import { startRunners, type Runner, type RunningRunners } from './runner.ts';
import { TranslationRunner, type ControllerOptions } from './translation-runner.ts';

export interface ControlPlaneConfig {
  log: (line: string) => void;
  /** The Kubernetes API (cluster mode) or a started, ready manifest directory (file mode). */
  source: { kind: 'cluster'; controller: Omit<ControllerOptions, 'publisher' | 'log'> } | { kind: 'file'; files: FileTableSource };
  /** The agent config server; null: no agents served (status writing only). */
  publish: Omit<PublisherOptions, 'log'> | null;
  /** The admin port; null: none. */
  admin: { host: string; port: number } | null;
  /** Further runners (CA, webhook, ...), started after the source and before the admin port. */
  extra?: Runner[];
}

export interface ControlPlane extends RunningRunners {
  publisher: PublisherRunner | null;
  translation: TranslationRunner | null;
  admin: AdminRunner | null;
}

export async function startControlPlane(config: ControlPlaneConfig): Promise<ControlPlane> {
  const { log } = config;
  const publisher = config.publish ? new PublisherRunner({ ...config.publish, log }) : null;
  const tables = () => publisher?.publisher ?? null;
  const translation = config.source.kind === 'cluster' ? new TranslationRunner({ ...config.source.controller, log, publisher: publisher ? tables : undefined }) : null;
  const source: Runner = translation ?? new FileSourceRunner((config.source as { files: FileTableSource }).files, tables);
  const runners: Runner[] = [...(publisher ? [publisher] : []), source, ...(config.extra ?? [])];
  const admin = config.admin ? new AdminRunner({ ...config.admin, runners: () => runners, log }) : null;
  if (admin) runners.push(admin);
  const running = await startRunners(runners, log);
  return { ...running, publisher, translation, admin };
}
