// Prototype (issue 16, ADR 0017): HTTP/1.1 on raw sockets, parsed by undici's llhttp WebAssembly
// build (deep import: undici has no public parser API), keep-alive upstream pool. See h1-raw/.
import { ports } from './args.ts';
import { wasmParser } from './h1-raw/wasm-parser.ts';
import { startProxy } from './h1-raw/proxy.ts';

const { port, upstream } = ports();
// a clean exit on the harness's SIGTERM, so `node --cpu-prof` writes its profile
process.on('SIGTERM', () => process.exit(0));
startProxy(port, upstream, wasmParser, true);
