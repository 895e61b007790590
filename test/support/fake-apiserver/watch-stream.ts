// One open watch: replays history from the requested resourceVersion (or the current state for
// a watch from "now"), then streams live events as newline-delimited JSON over a chunked
// response, with bookmarks when the client allows them. A version that history no longer
// reaches gets the ERROR event with a 410 Status, exactly as kube-apiserver sends it.
import type { ServerResponse } from 'node:http';
import type { FakeObject, FakeStore, StoredEvent } from './store.ts';

export interface WatchRequest {
  resource: string;
  apiVersion: string;
  kind: string;
  resourceVersion: string;
  allowBookmarks: boolean;
  timeoutSeconds?: number;
  matches: (o: FakeObject) => boolean;
}

export function statusObject(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class WatchStream {
  private readonly res: ServerResponse;
  private readonly unsubscribe: () => void;
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;
  readonly req: WatchRequest;

  constructor(store: FakeStore, req: WatchRequest, res: ServerResponse, bookmarkIntervalMs: number, onClose: () => void) {
    this.req = req;
    this.res = res;
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const live: StoredEvent[] = [];
    let replaying = true;
    // Subscribe before reading history (same tick): no event can fall between the two.
    this.unsubscribe = store.subscribe((e) => (replaying ? live.push(e) : this.send(e)));
    res.on('close', () => {
      this.end();
      onClose();
    });
    const rv = req.resourceVersion;
    if (rv === '' || rv === '0') {
      for (const o of store.list(req.resource, req.matches)) this.write('ADDED', o);
    } else {
      const n = Number(rv);
      const events = Number.isInteger(n) ? store.eventsSince(n) : 'gone';
      if (events === 'gone') {
        this.writeRaw({ type: 'ERROR', object: statusObject(410, 'Expired', `too old resource version: ${rv} (${store.resourceVersion})`) });
        this.end();
        return;
      }
      for (const e of events) this.send(e);
    }
    replaying = false;
    for (const e of live) this.send(e);
    if (req.allowBookmarks) this.timers.push(setInterval(() => this.bookmark(store.resourceVersion), bookmarkIntervalMs));
    if (req.timeoutSeconds !== undefined) this.timers.push(setTimeout(() => this.end(), req.timeoutSeconds * 1000));
  }

  bookmark(rv: number): void {
    if (!this.req.allowBookmarks) return;
    this.writeRaw({ type: 'BOOKMARK', object: { apiVersion: this.req.apiVersion, kind: this.req.kind, metadata: { resourceVersion: String(rv) } } });
  }

  /** Ends the stream cleanly (the client sees the response finish and re-watches). */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    for (const t of this.timers) clearTimeout(t);
    this.res.end();
  }

  /** Kills the connection without a clean end, as a crashing apiserver or a proxy would. */
  destroy(): void {
    this.end();
    this.res.socket?.destroy();
  }

  private send(e: StoredEvent): void {
    if (e.resource !== this.req.resource || !this.req.matches(e.object)) return;
    this.write(e.type, e.object);
  }

  private write(type: string, o: FakeObject): void {
    this.writeRaw({ type, object: { ...o, apiVersion: this.req.apiVersion } });
  }

  private writeRaw(event: unknown): void {
    if (!this.closed) this.res.write(`${JSON.stringify(event)}\n`);
  }
}
