// tcpSocket probes: the kubelet opens a TCP connection and closes it at once; success is the
// handshake completing within the timeout. No byte is sent.
import net from 'node:net';
import { hostPort, type ProbeOutcome, type ProbeTarget } from './app-health-types.ts';

export function probeTcp(t: ProbeTarget): Promise<ProbeOutcome> {
  const where = hostPort(t.host, t.port);
  return new Promise((resolve) => {
    const socket = net.connect({ host: t.host, port: t.port });
    const finish = (outcome: ProbeOutcome): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: `tcp ${where}: no connection within ${t.timeoutMs} ms` }), t.timeoutMs);
    socket.once('connect', () => finish({ ok: true, reason: `tcp ${where}: connected` }));
    socket.once('error', (err) => finish({ ok: false, reason: `tcp ${where}: ${err.message}` }));
  });
}
