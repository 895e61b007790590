// Patch frames for many agents at once. A route change reaching 1 000 agents gives each its own
// slice version (each slice holds other Services besides the changed one), so each patch frame
// differs, but only in its two version strings: the `changes` (the changed entries, the same
// objects in every agent's diff) are what makes a frame big. Here they are serialised once per
// distinct set of changed entries, and each agent's frame is that JSON with its versions around
// it: the bytes encodeMessage() would give, without walking the changed Service once per agent.
import type { TableChanges } from '../../api/wire.ts';

export interface EncodedFrame {
  text: string;
  bytes: number;
}

const SECTIONS = ['gateways', 'services', 'backends', 'secrets', 'policies'] as const;

export class PatchFrames {
  /** Entry object → a number naming it in keys; entries are never mutated (a change is a new object). */
  readonly #ids = new WeakMap<object, number>();
  #nextId = 1;
  /** Key of a set of changes → their JSON; emptied by clear() (each published table). */
  readonly #changes = new Map<string, EncodedFrame>();
  /** Times a `changes` object was serialised (tests pin the sharing with it). */
  encoded = 0;

  #id(entry: object): number {
    let id = this.#ids.get(entry);
    if (id === undefined) this.#ids.set(entry, (id = this.#nextId++));
    return id;
  }

  /** Equal for two changes exactly when they hold the same entry objects and removals, in the same order. */
  #key(changes: TableChanges): string {
    return SECTIONS.map((s) => {
      const c = changes[s];
      return `${c.upsert.map((e) => this.#id(e)).join(',')}/${JSON.stringify(c.remove)}`;
    }).join('|');
  }

  /** encodeMessage({ type: 'patch', version, base, changes }), its `changes` serialised once for all agents sent the same. */
  frame(version: string, base: string, changes: TableChanges): EncodedFrame {
    const key = this.#key(changes);
    let c = this.#changes.get(key);
    if (!c) {
      const text = JSON.stringify(changes);
      this.#changes.set(key, (c = { text, bytes: Buffer.byteLength(text) }));
      this.encoded++;
    }
    // The property order of encodeMessage's object: type, version, base, changes.
    const head = `{"type":"patch","version":${JSON.stringify(version)},"base":${JSON.stringify(base)},"changes":`;
    return { text: `${head}${c.text}}`, bytes: Buffer.byteLength(head) + c.bytes + 1 };
  }

  clear(): void {
    this.#changes.clear();
  }
}
