// The status the test kubelet reports for a pod, computed from its runner: phase, pod IP, one
// container status per container (waiting, running or terminated; ready; restart count) and the
// conditions the EndpointSlice controller and `kubectl get` read (Initialized, ContainersReady, Ready).
import type { ContainerView, PodRunner } from './pod-runner.ts';

function containerStatus(c: ContainerView): Record<string, unknown> {
  const p = c.process;
  let state: Record<string, unknown>;
  if (!p) state = { waiting: { reason: c.waitingReason ?? 'PodInitializing', ...(c.message ? { message: c.message } : {}) } };
  else if (p.running) state = { running: { startedAt: p.state.startedAt } };
  else {
    const reason = p.state.exitCode === 0 ? 'Completed' : 'Error';
    state = { terminated: { exitCode: p.state.exitCode, reason, startedAt: p.state.startedAt, finishedAt: p.state.finishedAt, ...(p.state.signal ? { signal: 15 } : {}) } };
  }
  return { name: c.spec.name, image: c.spec.image, imageID: '', ready: c.ready && !!p?.running, started: !!p?.running, restartCount: c.restarts, state };
}

export function podStatus(r: PodRunner, hostIp: string): Record<string, unknown> {
  const apps = r.containers.filter((c) => !c.init);
  const containersReady = apps.every((c) => c.ready && c.process?.running) && !r.terminating;
  const cond = (type: string, ok: boolean): Record<string, unknown> => ({ type, status: ok ? 'True' : 'False' });
  return {
    phase: r.phase,
    hostIP: hostIp,
    hostIPs: [{ ip: hostIp }],
    podIP: r.ip,
    podIPs: [{ ip: r.ip }],
    conditions: [
      cond('PodReadyToStartContainers', true),
      cond('Initialized', r.initialized),
      cond('ContainersReady', containersReady),
      cond('Ready', containersReady),
      cond('PodScheduled', true),
    ],
    initContainerStatuses: r.containers.filter((c) => c.init).map(containerStatus),
    containerStatuses: apps.map(containerStatus),
  };
}
