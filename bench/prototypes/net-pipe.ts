// Prototype: L4 pass-through, each client connection piped to its own upstream connection. No
// HTTP parsing at all — the cheapest thing a Node process can do per request, i.e. the floor
// for any HTTP-aware design in Node.
import net from 'node:net';
import { ports } from './args.ts';

const { port, upstream } = ports();

net.createServer((client) => {
  const up = net.connect({ host: '127.0.0.1', port: upstream, noDelay: true });
  client.setNoDelay(true);
  client.pipe(up);
  up.pipe(client);
  const close = (): void => { client.destroy(); up.destroy(); };
  client.on('error', close);
  up.on('error', close);
  client.on('close', close);
  up.on('close', close);
}).listen(port, '127.0.0.1');
