// readManifests as the folder's index exports it: the YAML parser (read-manifests.ts, ~70
// modules and ~12 MB) is loaded at the first read, not when the file provider is imported, so
// file mode's serving thread, which only needs FileTableSource, never loads it (ADR 0012).
import type { ReadResult } from './manifest-files.ts';

/** Reads every manifest under `path`. Rejects only when `path` itself cannot be read. */
export async function readManifests(path: string): Promise<ReadResult> {
  return (await import('./read-manifests.ts')).readManifests(path);
}
