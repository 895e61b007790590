// Frames for many agents at once, as bytes. A route change reaching 1 000 agents gives each its
// own slice version (each slice holds other Services besides the changed one), so each patch
// frame differs, but only in its two version strings: the `changes` (the changed entries, the
// same objects in every agent's diff) are what makes a frame big. Here they are serialised and
// UTF-8 encoded once per distinct set of changed entries, and each agent's frame is those bytes
// copied behind its own versions: the bytes encodeMessage() would give, without walking or
// encoding the changed Service once per agent. Frames are Buffers, handed to the socket as they
// are (a string would be measured and encoded again on every write); agents that share a slice
// share its frame, the very same Buffer.
import type { TableChanges } from '../../api/wire.ts';
import { headerLength, SplitFrame, writeTextHeader } from './ws-frame.ts';

/** A frame's UTF-8 payload (written framed to every agent it is for), or a patch frame in two parts. */
export type EncodedFrame = Buffer | SplitFrame;

/** A frame's payload in one Buffer (for ws.send, which frames it itself). */
export function payloadOf(frame: EncodedFrame): Buffer {
  return frame instanceof SplitFrame ? frame.joined() : frame;
}

const SECTIONS = ['gateways', 'services', 'backends', 'secrets', 'policies'] as const;

/**
 * JSON.stringify(v) of a version: a version is letters, digits and dots (`e1.` and hex), which
 * JSON writes as they are, so those are quoted without the serialiser (two per agent per change);
 * anything else goes through it.
 */
export function quoted(v: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x2e)) return JSON.stringify(v);
  }
  return `"${v}"`;
}

export class PatchFrames {
  /** Entry object → a number naming it in keys; entries are never mutated (a change is a new object). */
  readonly #ids = new WeakMap<object, number>();
  #nextId = 1;
  /** Key of a set of changes → their JSON's bytes and the message's closing brace; emptied by clear() (each published table). */
  readonly #changes = new Map<string, Buffer>();
  /** The same by the changes object: shared ones (endpoint-changes.ts) are found without a key built per agent. */
  #byObject = new WeakMap<TableChanges, Buffer>();
  /** Times a `changes` object was serialised (tests pin the sharing with it). */
  encoded = 0;

  #id(entry: object): number {
    let id = this.#ids.get(entry);
    if (id === undefined) this.#ids.set(entry, (id = this.#nextId++));
    return id;
  }

  /**
   * Equal for two changes exactly when they hold the same entry objects and removals, in the
   * same order. Built once per agent: an untouched section (most of them) adds only its separator.
   */
  #key(changes: TableChanges): string {
    let key = '';
    for (const s of SECTIONS) {
      const c = changes[s];
      key += '|';
      if (c.upsert.length === 0 && c.remove.length === 0) continue;
      for (const e of c.upsert) key += `${this.#id(e)},`;
      key += `/${JSON.stringify(c.remove)}`;
    }
    return key;
  }

  /** encodeMessage({ type: 'patch', version, base, changes }) as bytes, its `changes` serialised once for all agents sent the same. */
  frame(version: string, base: string, changes: TableChanges): SplitFrame {
    let c = this.#byObject.get(changes);
    if (!c) {
      const key = this.#key(changes);
      c = this.#changes.get(key);
      if (!c) {
        this.#changes.set(key, (c = Buffer.from(`${JSON.stringify(changes)}}`)));
        this.encoded++;
      }
      this.#byObject.set(changes, c);
    }
    // The property order of encodeMessage's object: type, version, base, changes.
    const head = `{"type":"patch","version":${quoted(version)},"base":${quoted(base)},"changes":`;
    const headBytes = Buffer.byteLength(head);
    // The agent's own bytes behind room for the WebSocket header; the changes' bytes follow
    // as they are, not copied (ws-frame.ts writes both parts in one corked write).
    const n = headBytes + c.length;
    const hl = headerLength(n);
    const out = Buffer.allocUnsafe(hl + headBytes);
    writeTextHeader(out, n);
    out.write(head, hl, headBytes, 'utf8');
    return new SplitFrame(out, hl, c);
  }

  clear(): void {
    this.#changes.clear();
    this.#byObject = new WeakMap();
  }
}
