// Removes a previous injection from a pod (in place), so re-injection renders from the user's
// pod and never stacks a second proxy. Driven by the injection-status annotation; a pod that
// has our containers but no readable status is stripped by our fixed names.
import { CONTAINER_NAMES, MESHLET_ENV, type AppProbers } from '../../api/pod-env.ts';
import { POD_ANNOTATIONS } from '../../api/pod-annotations.ts';
import { restoreProbes } from './probes.ts';
import { fallbackStatus, parseStatus } from './status.ts';
import type { Container, Pod } from './types.ts';

function appProbers(proxy: Container | undefined): AppProbers {
  const text = proxy?.env?.find((e) => e.name === MESHLET_ENV.appProbers)?.value;
  if (text === undefined) return {};
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? v as AppProbers : {};
  } catch {
    return {};
  }
}

function deleteKeys(obj: Record<string, string> | undefined, keys: string[]): void {
  if (obj) for (const k of keys) delete obj[k];
}

/** True when the pod carried an injection (and it has now been removed). */
export function stripInjection(pod: Pod): boolean {
  const meta = pod.metadata ?? {};
  const annotation = meta.annotations?.[POD_ANNOTATIONS.injectionStatus];
  const all = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  const ours = all.some((c) => c.name === CONTAINER_NAMES.init || c.name === CONTAINER_NAMES.proxy);
  if (annotation === undefined && !ours) return false;
  const status = parseStatus(annotation) ?? fallbackStatus();
  const proxy = all.find((c) => c.name === CONTAINER_NAMES.proxy);
  const probers = appProbers(proxy);

  pod.spec.containers = pod.spec.containers.filter((c) => !status.containers.includes(c.name));
  if (pod.spec.initContainers) {
    pod.spec.initContainers = pod.spec.initContainers.filter((c) => !status.initContainers.includes(c.name));
    if (pod.spec.initContainers.length === 0) delete pod.spec.initContainers;
  }
  if (pod.spec.volumes) {
    pod.spec.volumes = pod.spec.volumes.filter((v) => !status.volumes.includes(v.name));
    if (pod.spec.volumes.length === 0) delete pod.spec.volumes;
  }
  restoreProbes([...(pod.spec.initContainers ?? []), ...pod.spec.containers], probers);
  deleteKeys(meta.labels, status.labels);
  deleteKeys(meta.annotations, [...status.annotations, POD_ANNOTATIONS.injectionStatus]);
  if (meta.labels && Object.keys(meta.labels).length === 0) delete meta.labels;
  if (meta.annotations && Object.keys(meta.annotations).length === 0) delete meta.annotations;
  return true;
}
