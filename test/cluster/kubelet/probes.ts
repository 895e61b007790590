// Probes run from the node (the host namespace) to the pod IP, as the kubelet does: httpGet
// succeeds on a 2xx/3xx status, tcpSocket on a completed connect, both within timeoutSeconds.
import { connect } from 'node:net';
import type { ContainerSpec, ProbeSpec } from './pod-types.ts';

function portOf(c: ContainerSpec, port: number | string): number {
  if (typeof port === 'number') return port;
  const named = c.ports?.find((p) => p.name === port)?.containerPort;
  return named ?? Number(port);
}

export async function runProbe(probe: ProbeSpec, c: ContainerSpec, podIp: string): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) {
    const scheme = (probe.httpGet.scheme ?? 'HTTP').toLowerCase();
    const url = `${scheme}://${podIp}:${portOf(c, probe.httpGet.port)}${probe.httpGet.path ?? '/'}`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
      await res.arrayBuffer();
      return res.status >= 200 && res.status < 400;
    } catch {
      return false;
    }
  }
  if (probe.tcpSocket) {
    const port = portOf(c, probe.tcpSocket.port);
    return new Promise((resolve) => {
      const socket = connect({ host: podIp, port, timeout: timeoutMs });
      const done = (ok: boolean): void => {
        socket.destroy();
        resolve(ok);
      };
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
      socket.once('timeout', () => done(false));
    });
  }
  throw new Error(`container ${c.name}: only httpGet and tcpSocket probes are supported`);
}
