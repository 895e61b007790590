// The meshlet.dev/injection-status annotation: what one injection added to a pod, so that the
// next injection (reinvocation, a changed mesh config, `meshlet inject` run twice) can remove
// exactly that before rendering again. Probes are restored from the agent's own environment.
import { CONTAINER_NAMES, VOLUME_NAMES } from '../../api/pod-env.ts';
import type { SidecarMode } from '../../api/pod-annotations.ts';

export interface InjectionStatus {
  version: string;
  sidecarMode: SidecarMode;
  initContainers: string[];
  containers: string[];
  volumes: string[];
  labels: string[];
  annotations: string[];
}

/** What a pod injected by an unknown (or unreadable) status would hold: our fixed names. */
export function fallbackStatus(): InjectionStatus {
  return {
    version: 'unknown', sidecarMode: 'native',
    initContainers: [CONTAINER_NAMES.init, CONTAINER_NAMES.proxy], containers: [CONTAINER_NAMES.proxy],
    volumes: [VOLUME_NAMES.token, VOLUME_NAMES.rootCa], labels: [], annotations: [],
  };
}

const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** The recorded status, or null when the annotation is not one of ours. */
export function parseStatus(text: string | undefined): InjectionStatus | null {
  if (text === undefined) return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  const s = v as Partial<InjectionStatus> | null;
  if (!s || typeof s !== 'object' || typeof s.version !== 'string' || (s.sidecarMode !== 'native' && s.sidecarMode !== 'legacy')) return null;
  if (![s.initContainers, s.containers, s.volumes, s.labels, s.annotations].every(strings)) return null;
  return s as InjectionStatus;
}

/** Serialised with a fixed key order, so the same injection always writes the same text. */
export function formatStatus(s: InjectionStatus): string {
  return JSON.stringify({
    version: s.version, sidecarMode: s.sidecarMode, initContainers: s.initContainers, containers: s.containers,
    volumes: s.volumes, labels: s.labels, annotations: s.annotations,
  });
}
