// A stand-in for the controller's Service in tests: a TCP forwarder on a loopback port whose
// target (a replica's port) can be switched, or set to null to refuse connections, as a
// Service with no ready endpoint does. Agents keep one URL while replicas come and go.
import net from 'node:net';

export interface SwitchableService {
  port: number;
  /** The replica new connections reach; null: refused. Open connections keep theirs. */
  target: number | null;
  /** Cuts every open connection (the agents reconnect, to the current target). */
  drop(): void;
  /** While true, bytes from the replicas wait (a slow network): agents get them once released. */
  hold: boolean;
  close(): Promise<void>;
}

export async function switchableService(): Promise<SwitchableService> {
  const sockets = new Set<net.Socket>();
  const state = { target: null as number | null, hold: false };
  const ups = new Set<net.Socket>();
  const server = net.createServer((down) => {
    sockets.add(down);
    down.on('close', () => sockets.delete(down));
    if (state.target === null) return void down.destroy();
    const up = net.connect(state.target, '127.0.0.1');
    sockets.add(up);
    ups.add(up);
    up.on('close', () => {
      sockets.delete(up);
      ups.delete(up);
    });
    down.pipe(up).pipe(down);
    if (state.hold) up.pause(); // after pipe(), which resumes its source
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
    get hold() {
      return state.hold;
    },
    set hold(on: boolean) {
      state.hold = on;
      for (const up of ups) {
        if (on) up.pause();
        else up.resume();
      }
    },
    drop: () => {
      for (const s of sockets) s.destroy();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
