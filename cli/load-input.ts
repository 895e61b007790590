// Shared by the commands that read manifests (-f PATH): read, report broken documents by file
// and index on stderr without stopping, and bucket the rest into a translation snapshot.
import { formatProblem, readManifests, type LoadedObject, type ManifestProblem } from '../controller/provider/file/index.ts';
import { buildSnapshot, type Snapshot } from '../controller/translate/snapshot.ts';
import type { Io } from './command.ts';
import { UsageError } from './usage-error.ts';

export interface LoadedInput {
  snapshot: Snapshot;
  objects: LoadedObject[];
  problems: ManifestProblem[];
}

export { formatProblem };

/** Parses repeated `--address ns/name=ip[,ip]` flags into snapshot.gatewayAddresses. */
export function parseAddresses(values: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const v of values) {
    const m = /^([a-z0-9-]+)\/([a-z0-9.-]+)=(.+)$/.exec(v);
    if (!m) throw new UsageError(`--address wants NAMESPACE/GATEWAY=IP[,IP], got '${v}'`);
    out[`${m[1]}/${m[2]}`] = m[3]!.split(',');
  }
  return out;
}

export async function loadInput(path: string | undefined, io: Io, gatewayAddresses: Record<string, string[]> = {}): Promise<LoadedInput> {
  if (!path) throw new UsageError('-f PATH is required (a manifest file or a directory of them)');
  let read;
  try {
    read = await readManifests(path);
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
  for (const p of read.problems) io.stderr.write(`warning: ${formatProblem(p)} (skipped)\n`);
  const { snapshot } = buildSnapshot(read.objects.map((o) => o.object), { gatewayAddresses });
  return { snapshot, objects: read.objects, problems: read.problems };
}
