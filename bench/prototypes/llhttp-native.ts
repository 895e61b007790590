// Prototype (issue 16, ADR 0017): HTTP/1.1 on raw sockets, parsed by llhttp through Node's own
// C++ binding (`HTTPParser` of node:_http_common), keep-alive upstream pool. See h1-raw/proxy.ts.
import { ports } from './args.ts';
import { nativeParser } from './h1-raw/native-parser.ts';
import { startProxy } from './h1-raw/proxy.ts';

const { port, upstream } = ports();
// a clean exit on the harness's SIGTERM, so `node --cpu-prof` writes its profile
process.on('SIGTERM', () => process.exit(0));
startProxy(port, upstream, nativeParser, false);
