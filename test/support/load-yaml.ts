// Multi-document YAML manifests → Kubernetes objects, for the golden tests and other test
// fixtures. Strict on shape (every document must be a mapping with apiVersion, kind and
// metadata.name) so a broken fixture fails where it is, not as a puzzling translation result.
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../controller/translate/snapshot.ts';

export class FixtureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FixtureError';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses every document of `text`; empty documents (a stray `---`) are skipped. */
export function parseYamlDocuments(text: string, file: string): unknown[] {
  const out: unknown[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    if ('errors' in doc && doc.errors.length > 0) {
      throw new FixtureError(`${file}: document ${i}: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) out.push(value);
  });
  return out;
}

/** Parses manifests and checks each looks like a Kubernetes object. */
export function loadObjects(text: string, file: string): KubeObject[] {
  return parseYamlDocuments(text, file).map((doc, i) => {
    if (!isRecord(doc)) throw new FixtureError(`${file}: document ${i} is not a mapping`);
    const meta = doc.metadata;
    if (typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string' || !isRecord(meta) || typeof meta.name !== 'string') {
      throw new FixtureError(`${file}: document ${i} needs apiVersion, kind and metadata.name`);
    }
    return doc as unknown as KubeObject;
  });
}
