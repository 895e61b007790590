// The import graph of the repository's TypeScript, for the architecture tests: which file
// imports which (static imports, re-exports, dynamic import() of a literal, type-only imports
// included: a type import still couples the layers), resolved to repository-relative paths.
// Package and node: specifiers are kept as they are written.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** path (repository-relative, forward slashes) → its source text. */
export type SourceMap = ReadonlyMap<string, string>;

const SPECIFIER = /(?:^|[\s;}])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\sfrom\s*)?['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Removes comments so that an import shown in a comment is not taken for one. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:\\'"`])\/\/.*$/gm, '$1');
}

export function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of stripComments(text).matchAll(SPECIFIER)) out.push((m[1] ?? m[2])!);
  return out;
}

/** A relative specifier resolved against its file; anything else returned unchanged. */
export function resolve(from: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  return path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
}

export function buildGraph(sources: SourceMap): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [file, text] of sources) graph.set(file, specifiers(text).map((s) => resolve(file, s)));
  return graph;
}

/** Every .ts file under the given top-level folders (build outputs and dependencies skipped). */
export function readSources(root: string, folders: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    let entries;
    try {
      entries = readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (e.name === 'node_modules' || e.name === 'build' || e.name === 'dist') continue;
        walk(child);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        out.set(child, readFileSync(path.join(root, child), 'utf8'));
      }
    }
  };
  for (const f of folders) walk(f);
  return out;
}
