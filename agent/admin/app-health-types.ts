// What every app probe runner (HTTP, TCP, gRPC) takes and answers: where the app is, how long
// the probe may take, the kubelet's own request headers worth passing on, and a verdict with a
// reason a person can act on (it is the body the kubelet's probe gets, and the agent logs it).

export interface ProbeTarget {
  /** Address the kubelet would dial: the probe's host, else the pod IP, else loopback. */
  host: string;
  port: number;
  /** The probe's timeoutSeconds in milliseconds (Kubernetes' default is 1 s). */
  timeoutMs: number;
  /** The kubelet's User-Agent (`kube-probe/1.x`), passed on as the kubelet would send it. */
  userAgent?: string;
  /** The kubelet's Accept header, for HTTP probes. */
  accept?: string;
}

export interface ProbeOutcome {
  ok: boolean;
  reason: string;
}

/** `host:port` with IPv6 literals bracketed, for URLs, :authority and messages. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
