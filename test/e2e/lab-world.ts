// What the e2e "worlds" (mesh and gateway) share: a network-namespace lab sized by the case's
// plan, a config directory the meshlet processes read (swapped atomically per case), the echo
// backends' output, the table file mode builds from that directory, and teardown.
import { chmodSync, copyFileSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RoutingTable } from '../../api/routing-table.ts';
import type { KubeObject } from '../../controller/translate/snapshot.ts';
import { FileTableSource, type FileTableSourceOptions } from '../../controller/provider/file/index.ts';
import { NetnsLab, type LabProcess } from '../support/netns.ts';
import { planWorld, type WorldPlan } from './world-plan.ts';

export const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** The table a meshlet process builds from `dir`, by the same file-mode code and options. */
export async function tableOf(dir: string, opts: Partial<FileTableSourceOptions> = {}): Promise<RoutingTable> {
  const source = new FileTableSource({ dir, log: () => undefined, ...opts }).start();
  try {
    return await source.ready(10_000);
  } finally {
    source.close();
  }
}

export interface LabParts {
  lab: NetnsLab;
  plan: WorldPlan;
  configDir: string;
}

/** Plans the case, creates its config directory (readable by uid 1337) and the lab. */
export async function openLab(inFile: string, objects: KubeObject[]): Promise<LabParts> {
  const plan = planWorld(objects, inFile);
  const configDir = mkdtempSync(join(tmpdir(), 'meshlet-e2e-'));
  chmodSync(configDir, 0o755); // agents read it as uid 1337
  const lab = await NetnsLab.create({ ipv4Subnet: plan.subnet });
  return { lab, plan, configDir };
}

export class LabWorld {
  readonly lab: NetnsLab;
  readonly plan: WorldPlan;
  readonly configDir: string;
  protected readonly echoes: LabProcess[] = [];

  protected constructor(parts: LabParts) {
    this.lab = parts.lab;
    this.plan = parts.plan;
    this.configDir = parts.configDir;
  }

  get podServices(): Map<string, Set<string>> {
    return this.plan.podServices;
  }

  /** What the echo backends printed so far (their {"seen": id} lines tell who got what). */
  echoOutput(): string[] {
    return this.echoes.map((e) => e.stdout);
  }

  /** Replaces the served manifests in one rename, so a watcher never reads half a file. */
  protected writeConfig(inFile: string): void {
    const tmp = join(this.configDir, '.case.yaml.tmp');
    copyFileSync(inFile, tmp);
    chmodSync(tmp, 0o644);
    renameSync(tmp, join(this.configDir, 'case.yaml'));
  }

  async destroy(): Promise<void> {
    await this.lab.destroy();
    rmSync(this.configDir, { recursive: true, force: true });
  }
}
