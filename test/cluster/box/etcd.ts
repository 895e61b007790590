// etcd for the box: one member on loopback, data in the box's temp dir, fsync off (a test cluster
// is thrown away, and fsync dominates API latency on a shared disk). Ready once /health says so.
import { join } from 'node:path';
import { ComponentProcess, type Readiness } from './component-process.ts';

export interface EtcdOptions {
  bin: string;
  dataDir: string;
  logsDir: string;
  clientPort: number;
  peerPort: number;
  timeoutMs: number;
  /** Called with the process as soon as it is spawned, so a failed start can still be stopped. */
  register: (p: ComponentProcess, ready: Readiness) => void;
}

export async function startEtcd(opts: EtcdOptions): Promise<{ process: ComponentProcess; url: string }> {
  const url = `http://127.0.0.1:${opts.clientPort}`;
  const peer = `http://127.0.0.1:${opts.peerPort}`;
  const process = new ComponentProcess({
    name: 'etcd',
    bin: opts.bin,
    args: [
      '--name=box',
      `--data-dir=${join(opts.dataDir, 'etcd')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=box=${peer}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
  }, opts.logsDir);
  const ready: Readiness = (p) => p.waitReady('healthy', async () => {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
    return res.ok && ((await res.json()) as { health?: string }).health === 'true';
  }, opts.timeoutMs);
  opts.register(process, ready);
  await ready(process);
  return { process, url };
}
