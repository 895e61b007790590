// The server side of the TCP workload preamble (telemetry/peer-workload.ts): on a mesh mTLS hop
// that negotiated `meshlet/tcp+workload`, the caller's proxy sends one length byte and its
// workload name before the tunnel's bytes. Read here, before the stream reaches the app; what
// follows the preamble is put back, untouched, for the splice.
import type { Duplex } from 'node:stream';
import { MeshletError } from '../../api/errors.ts';

/** The peer negotiated the preamble but did not send it in time, or closed first. */
export class WorkloadPreambleError extends MeshletError {
  constructor(message: string) {
    super('E_WORKLOAD_PREAMBLE', message);
  }
}

/** The name the preamble carries ('' when the peer named none); rejects on timeout or close. */
export function readWorkloadPreamble(socket: Duplex, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf: Buffer = Buffer.alloc(0);
    const finish = (err: Error | null, name = ''): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      if (err) reject(err);
      else resolve(name);
    };
    const onData = (chunk: Buffer): void => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      if (buf.length < 1 || buf.length < 1 + buf[0]!) return;
      const end = 1 + buf[0]!;
      const name = buf.toString('latin1', 1, end);
      const rest = buf.subarray(end);
      finish(null, name);
      if (rest.length > 0) socket.unshift(rest);
    };
    const onEnd = (): void => finish(new WorkloadPreambleError('the peer closed before its workload preamble was complete'));
    const timer = setTimeout(() => finish(new WorkloadPreambleError(`no workload preamble within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}
