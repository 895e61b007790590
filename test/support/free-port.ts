// A TCP port on loopback that was free a moment ago, for a listener that must know its port
// before it starts (an EndpointSlice naming it, a CLI flag). Another process may take it in
// between; tests on a shared machine accept that small window.
import net from 'node:net';

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
