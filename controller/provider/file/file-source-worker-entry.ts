// The translation worker's entry: turns Node's on-disk compile cache on before the worker's
// modules load, then loads them. A recycled worker (ADR 0012) starts cold at the next edit, and
// most of that start is compiling the YAML parser's and the translator's modules (type stripping
// too, from the TypeScript sources); with the cache, the transpiled output and V8's code cache
// are read back instead. Measured on the shared 2-core machine (load 12, 10 routes, start to
// first table): 0.9-1.2 s without, 0.24-0.6 s with. Where the cache directory cannot be written
// (a read-only root, another uid), Node says so in the returned status and compiles as before.
import { enableCompileCache, flushCompileCache } from 'node:module';

enableCompileCache();
await import('./file-source-worker.ts');
// Written now, not when the process exits: the worker is terminated when recycled.
flushCompileCache();
