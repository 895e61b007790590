// Parses a manifest file document by document, keeping each document's result for the next read
// of the same file: after an edit only the documents whose text changed go through the YAML
// parser (~1 ms per Kubernetes object; a 1 000-route file took 0.3-1.1 s to parse whole), and
// every unchanged document hands back the very same object, which the incremental translator
// (controller/translate/incremental.ts) recognises by identity and does not translate again.
//
// Documents are cut at lines that start with `---` (YAML's document marker, which the spec
// forbids inside any content, block scalars included). A file with a directive (`%`) or an
// explicit document end (`...`) at the start of a line, a .json file, or any document that
// reports a problem is parsed whole as before, so reports name the same document and line as a
// whole-file parse would; manifest-cache.test.ts checks the results are the same.
import { extname } from 'node:path';
import type { LoadedObject, ManifestProblem } from './manifest-files.ts';
import { parseManifestFile, parseManifests } from './read-manifests.ts';

interface Parsed {
  objects: LoadedObject[];
  problems: ManifestProblem[];
}

/** The objects of one document's text (see splitDocuments). */
interface Chunk {
  objects: LoadedObject[];
}

/** A document's text without a bare leading marker line: moving it to the top of the file keeps its key. */
function keyOf(piece: string): string {
  return piece.startsWith('---\n') ? piece.slice(4) : piece.startsWith('---\r\n') ? piece.slice(5) : piece;
}

const MARKER = /^---(?=[ \t\r\n]|$)/;
const WHOLE_FILE_ONLY = /^(%|\.\.\.(?=[ \t\r\n]|$))/m;

/** The file's text cut before each `---` line; '' texts are kept out. */
export function splitDocuments(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let at = 0;
  while (at < text.length) {
    const eol = text.indexOf('\n', at);
    const next = eol === -1 ? text.length : eol + 1;
    if (at > start && MARKER.test(text.slice(at, at + 4))) {
      out.push(text.slice(start, at));
      start = at;
    }
    at = next;
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

export class ManifestCache {
  /** file → document text (keyOf) → its parse, as of the last read of that file. */
  #files = new Map<string, Map<string, Chunk>>();
  #parsed = 0;
  #reused = 0;

  /** Documents parsed and handed back from the cache, since the start. */
  get stats(): { parsed: number; reused: number } {
    return { parsed: this.#parsed, reused: this.#reused };
  }

  /** parseManifestFile(text, file), reusing unchanged documents of the last read of `file`. */
  parse(text: string, file: string): Parsed {
    if (extname(file) === '.json' || WHOLE_FILE_ONLY.test(text)) {
      this.#files.delete(file);
      return parseManifestFile(text, file);
    }
    const previous = this.#files.get(file) ?? new Map<string, Chunk>();
    const kept = new Map<string, Chunk>();
    const result: Parsed = { objects: [], problems: [] };
    let document = 0;
    for (const piece of splitDocuments(text)) {
      // The same text twice in one file: two objects, as a whole parse gives, not one shared.
      const key = keyOf(piece);
      let chunk = kept.has(key) ? undefined : previous.get(key);
      if (chunk) {
        this.#reused++;
      } else {
        const parsed = parseManifests(piece, file);
        this.#parsed++;
        // A problem, or a second document the cut did not see: parsed whole instead.
        if (parsed.problems.length > 0 || parsed.objects.some((o) => o.document > 0)) {
          // Reported as a whole-file parse reports it (document index, line numbers).
          this.#files.delete(file);
          return parseManifestFile(text, file);
        }
        chunk = { objects: parsed.objects };
      }
      kept.set(key, chunk);
      for (const o of chunk.objects) result.objects.push({ object: o.object, file, document });
      document += documentsIn(piece);
    }
    this.#files.set(file, kept);
    return result;
  }

  /** Forgets files that are no longer listed. */
  retain(files: readonly string[]): void {
    const keep = new Set(files);
    for (const f of this.#files.keys()) if (!keep.has(f)) this.#files.delete(f);
  }
}

/** How many documents a piece holds: 1 if it starts with a marker or has content, else 0 (a leading comment). */
function documentsIn(piece: string): number {
  if (MARKER.test(piece)) return 1;
  for (const line of piece.split('\n')) {
    const t = line.trim();
    if (t !== '' && !t.startsWith('#')) return 1;
  }
  return 0;
}
