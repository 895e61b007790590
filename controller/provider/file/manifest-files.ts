// Which files of a directory are manifests, and the shapes a read of them reports. Kept apart
// from read-manifests.ts (the YAML parser: ~70 modules, ~12 MB) because file mode's serving
// thread lists the directory too, when its translation worker is recycled, and must not load
// the parser to do so (ADR 0012).
import { readdir, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { KubeObject } from '../../translate/snapshot.ts';

export interface ManifestProblem {
  file: string;
  /** 0-based index of the YAML document in the file. */
  document: number;
  message: string;
}

/** `file: document N: message`, as every command reports a broken manifest. */
export function formatProblem(p: ManifestProblem): string {
  return `${p.file}: document ${p.document + 1}: ${p.message}`;
}

export interface LoadedObject {
  object: KubeObject;
  file: string;
  document: number;
}

export interface ReadResult {
  objects: LoadedObject[];
  problems: ManifestProblem[];
  files: string[];
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * Whether a symlink leads to a file: a mounted ConfigMap's keys are symlinks into `..data` (which
 * the kubelet swaps atomically on an update). Symlinks to directories are not followed (loops).
 */
async function isFileBehind(link: string): Promise<boolean> {
  return (await stat(link).catch(() => null))?.isFile() ?? false;
}

/** Lists manifest files under `path` (a file is returned as is), sorted for determinism. */
export async function listManifestFiles(path: string): Promise<string[]> {
  const info = await stat(path);
  if (info.isFile()) return [path];
  const out: string[] = [];
  const entries = await readdir(path, { withFileTypes: true });
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.')) continue;
    const full = join(path, e.name);
    if (e.isDirectory()) out.push(...(await listManifestFiles(full)));
    else if (EXTENSIONS.has(extname(e.name)) && (e.isFile() || (e.isSymbolicLink() && await isFileBehind(full)))) out.push(full);
  }
  return out;
}
