// A stand-in for the controller's Service in tests: a TCP forwarder on a loopback port whose
// target (a replica's port) can be switched, or set to null to refuse connections, as a
// Service with no ready endpoint does. Agents keep one URL while replicas come and go.
import net from 'node:net';

export interface SwitchableService {
  port: number;
  /** The replica new connections reach; null: refused. Open connections keep theirs. */
  target: number | null;
  close(): Promise<void>;
}

export async function switchableService(): Promise<SwitchableService> {
  const sockets = new Set<net.Socket>();
  const state = { target: null as number | null };
  const server = net.createServer((down) => {
    sockets.add(down);
    down.on('close', () => sockets.delete(down));
    if (state.target === null) return void down.destroy();
    const up = net.connect(state.target, '127.0.0.1');
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    down.pipe(up).pipe(down);
    const end = (): void => {
      down.destroy();
      up.destroy();
    };
    up.on('error', end);
    down.on('error', end);
    up.on('close', end);
    down.on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    get target() {
      return state.target;
    },
    set target(t: number | null) {
      state.target = t;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
