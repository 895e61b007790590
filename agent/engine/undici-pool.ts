// undici's Pool without the rest of undici. Its index loads everything (fetch, WebSocket,
// caches, mocks: ~200 modules, ~12 MB of an idle agent's RSS, ADR 0012); the proxy uses Pool
// alone. The index also gives every dispatcher its request API (request, stream, …) by
// assigning lib/api to Dispatcher.prototype: done here the same way, since Pool alone lacks it.
import { createRequire } from 'node:module';
import type { Dispatcher as UndiciDispatcher, Pool as UndiciPool } from 'undici';

const require = createRequire(import.meta.url);
const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as typeof UndiciDispatcher;
Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js') as object);

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
