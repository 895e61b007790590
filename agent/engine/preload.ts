// Modules undici loads lazily, on the first upstream HTTP/1.1 connection or a body of a kind it
// has not seen. The agent drops to uid 1337 after binding its ports; files it has not opened by
// then must still be readable by that user, which a checkout or image laid out for root alone
// is not. Loading them before the drop makes the agent independent of where its files live.
// Not undici's web/fetch/body.js (+3 MB RSS): undici loads it only for a FormData request body,
// and the proxy's bodies are always the downstream's streams (issue 16).
// undici's Pool itself is loaded at the first pool made (undici-pool.ts), so it is loaded here too.
import { createRequire } from 'node:module';
import { undiciPool } from './undici-pool.ts';

const LAZY = ['undici/lib/llhttp/llhttp_simd-wasm.js', 'undici/lib/llhttp/llhttp-wasm.js'];

export function preloadLazyModules(): void {
  undiciPool();
  const require = createRequire(import.meta.url);
  for (const m of LAZY) require(m);
}
