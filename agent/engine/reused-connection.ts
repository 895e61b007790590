// The keep-alive race on the general path (ADR 0024): an app closes a kept-alive connection
// (its idle timeout, often without a `Keep-Alive` hint) at the moment a request is written on
// it, and the request meets EOF or a reset before any response byte. Go's Transport and hyper
// resend such a request on another connection when it is replayable; the fast path's lease does
// (h1-fast/upstream-lease.ts); this is the general path's half. undici does not say whether the
// connection a request went out on had served before, nor whether a response byte arrived, so
// each Client of an endpoint's Pool is made by `trackingFactory`: it remembers its socket (from
// its connector) and, for a request that carries a WriteNote, fills the note in at the moment
// the request is written: whether the socket had carried an exchange before (more bytes written
// than its handshake), and how many bytes it had read. `raced` then tells, from the failure,
// whether the request may be resent once on a fresh connection (send-h1.ts).
import type net from 'node:net';
import type { buildConnector, Client as UndiciClient, Dispatcher } from 'undici';
import { MeshletError } from '../../api/errors.ts';
import { idempotent } from './default-retry.ts';
import type { AttemptRequest } from './upstream-types.ts';

/** Filled in by the Client a request went out on, when it went out. */
export interface WriteNote {
  /** Written at all (false: failed before a connection took it). */
  written: boolean;
  /** The connection had carried an exchange before this request. */
  reused: boolean;
  socket: net.Socket | null;
  /** socket.bytesRead when the request was written: more at the failure means a response byte arrived. */
  readBefore: number;
}

const WRITE_NOTE = Symbol('meshlet.writeNote');
type NotedOptions = Dispatcher.DispatchOptions & { [WRITE_NOTE]?: WriteNote };

/** Request options that carry `note` to the Client that writes them. */
export function withWriteNote<T extends Dispatcher.RequestOptions>(opts: T, note: WriteNote): T {
  return { ...opts, [WRITE_NOTE]: note };
}

export function newWriteNote(): WriteNote {
  return { written: false, reused: false, socket: null, readBefore: 0 };
}

/** The Client's current socket, and its bytes written when it was handed over (the TLS handshake's). */
interface ClientSocket {
  socket: net.Socket | null;
  baseline: number;
}

/**
 * A Pool `factory` whose Clients fill in the WriteNote of a request that carries one. Only
 * requests with a note (replayable ones) pay for it: one closure wrapping `onRequestStart`.
 */
export function trackingFactory(Client: typeof UndiciClient): (origin: URL, opts: object) => UndiciClient {
  return (origin, opts) => {
    const current: ClientSocket = { socket: null, baseline: 0 };
    const connect = (opts as { connect: buildConnector.connector }).connect;
    const client = new Client(origin, {
      ...opts,
      connect: (options, callback) => connect(options, (...args) => {
        const socket = args[1];
        if (socket) {
          current.socket = socket;
          current.baseline = socket.bytesWritten;
        }
        callback(...args);
      }),
    });
    const dispatch = client.dispatch.bind(client);
    client.dispatch = (o: NotedOptions, handler: Dispatcher.DispatchHandler): boolean => {
      const note = o[WRITE_NOTE];
      if (note !== undefined) {
        const start = handler.onRequestStart?.bind(handler);
        // called by undici right before it writes the request's head on the Client's socket
        handler.onRequestStart = (controller, context) => {
          const s = current.socket;
          note.written = s !== null;
          note.socket = s;
          note.reused = s !== null && s.bytesWritten > current.baseline;
          note.readBefore = s?.bytesRead ?? 0;
          start?.(controller, context);
        };
      }
      return dispatch(o, handler);
    };
    return client;
  };
}

/** Whether a request's bytes can be written again as they were: no body or a buffered one (any method: see raced). */
export function resendable(req: AttemptRequest): boolean {
  return req.body.kind !== 'stream';
}

/** Socket errors of a connection lost under a request (undici's own, and Node's). */
const LOST = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE']);

/**
 * Whether `err` is the keep-alive race for the request `note` describes, `method` its method:
 *   - never written: undici fails a request waiting for its idle connection when that connection
 *     is reset (its one-turn check before a reuse reads the RST and errors what waits on it);
 *     nothing reached the app, so any method may go again (Go's `nothingWrittenError`, hyper's
 *     unsent request);
 *   - written on a reused connection lost before any byte of a response, for an idempotent
 *     method only (the app may have read it). Never a fresh connection's failure (the app may
 *     have refused this very request by closing), never after a response byte.
 */
export function raced(note: WriteNote, method: string, err: unknown, signal: AbortSignal): boolean {
  if (signal.aborted) return false;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !LOST.has(code)) return false;
  if (!note.written) return true;
  return note.reused && note.socket !== null && note.socket.bytesRead === note.readBefore && idempotent(method);
}

/**
 * The resend of a request that met the keep-alive race failed too. This layer does not try it
 * again (one resend, as on the fast path); the default retry (ADR 0022) judges it by its cause,
 * the resend's own error on a fresh connection, as any fresh connection's failure: another
 * endpoint after a refused connect, or after a loss before the response head for an idempotent
 * method (attempts.ts).
 */
export class ResendFailedError extends MeshletError {
  constructor(cause: unknown) {
    super('E_UPSTREAM_RESEND_FAILED', `${(cause as Error)?.message ?? String(cause)} (resent once on a fresh connection after a kept-alive one closed under it)`, { cause });
  }
}
