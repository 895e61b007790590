// undici's Pool without the rest of undici, loaded at its first use. Its index loads everything
// (fetch, WebSocket, caches, mocks: ~200 modules, ~12 MB of an idle agent's RSS, ADR 0012); the
// proxy uses Pool alone. The index also gives every dispatcher its request API (request, stream,
// …) by assigning lib/api to Dispatcher.prototype: done here the same way, since Pool alone lacks
// it. Even Pool and its API (29 modules, ~3 MB) are loaded only when the first pool is made: the
// HTTP/1.1 fast path serves plain and mesh-mTLS HTTP/1.1 without undici, so an idle agent, and
// many a busy one, never needs it (ADR 0012, 2026-12-07). The load is a synchronous require()
// (undici is CommonJS: an import() would compile the same modules on the same thread), paid once
// by the request that makes the first pool; `--uid` preloads it before the privilege drop.
import { createRequire } from 'node:module';
import type { Client as UndiciClient, Dispatcher as UndiciDispatcher, Pool as UndiciPool } from 'undici';

const require = createRequire(import.meta.url);
let pool: typeof UndiciPool | null = null;

/** undici's Pool class, loading it (and its request API) at the first call. */
export function undiciPool(): typeof UndiciPool {
  if (pool === null) {
    const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as typeof UndiciDispatcher;
    Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js') as object);
    pool = require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
  }
  return pool;
}

/** undici's Client (loaded by the Pool already): the Pool's per-connection dispatcher, and a resend's one-off (ADR 0024). */
export function undiciClient(): typeof UndiciClient {
  undiciPool();
  return require('undici/lib/dispatcher/client.js') as typeof UndiciClient;
}
