// inject(): a pod in, the injected pod out, with the RFC 6902 JSON Patch between them (what the
// webhook returns) and warnings for the user. Pure: no I/O, no clock; the webhook and
// `meshlet inject` both call it, so one set of golden files pins both.
//
// Order of work: shape check → selection (a skipped pod is returned untouched) → annotations
// (an invalid one throws before anything changes) → strip a previous injection → rewrite probes
// → add containers, volumes, label and status → diff.
import jsonpatch, { type Operation } from 'fast-json-patch';
import { POD_ANNOTATIONS, MESHED_POD_LABEL, MESHED_POD_LABEL_VALUE } from '../../api/pod-annotations.ts';
import { CONTAINER_NAMES, VOLUME_NAMES } from '../../api/pod-env.ts';
import { podSettings } from './annotations.ts';
import { PodInvalidError } from './errors.ts';
import type { MeshConfig } from './mesh-config.ts';
import { rewriteProbes } from './probes.ts';
import { initContainer, proxyContainer, volumes } from './render.ts';
import { skipReason, type NamespaceInfo } from './selection.ts';
import { formatStatus, type InjectionStatus } from './status.ts';
import { stripInjection } from './strip.ts';
import type { Pod } from './types.ts';
import { workloadOf, type TemplateOwner } from './workload.ts';

export type { Operation as PatchOperation } from 'fast-json-patch';

export interface InjectResult {
  /** The injected pod (or the input itself when skipped). */
  pod: Pod;
  /** original → pod; empty when nothing changes. */
  patch: Operation[];
  warnings: string[];
  injected: boolean;
  /** Why the pod was left alone, when it was. */
  skipped?: string;
}

const DEFAULT_CONTAINER = 'kubectl.kubernetes.io/default-container';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkPod(input: unknown): Pod {
  if (!isObj(input)) throw new PodInvalidError('expected an object');
  if (input.metadata !== undefined && !isObj(input.metadata)) throw new PodInvalidError('metadata must be an object');
  for (const key of ['labels', 'annotations'] as const) {
    const m = (input.metadata)?.[key];
    if (m !== undefined && (!isObj(m) || !Object.values(m).every((v) => typeof v === 'string'))) throw new PodInvalidError(`metadata.${key} must map strings to strings`);
  }
  const spec = input.spec;
  if (!isObj(spec)) throw new PodInvalidError('spec is missing');
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) throw new PodInvalidError('spec.containers must hold at least one container');
  for (const key of ['containers', 'initContainers', 'volumes'] as const) {
    const list = spec[key];
    if (list === undefined) continue;
    if (!Array.isArray(list) || !list.every((c) => isObj(c) && typeof c.name === 'string')) throw new PodInvalidError(`spec.${key} must be a list of objects with a name`);
  }
  return input as Pod;
}

/** A user's container or volume with one of our names would make the API server refuse the pod obscurely. */
function reservedNames(pod: Pod): void {
  const containers: string[] = Object.values(CONTAINER_NAMES);
  const volumes: string[] = Object.values(VOLUME_NAMES);
  const clash = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c) => containers.includes(c.name))?.name
    ?? pod.spec.volumes?.find((v) => volumes.includes(v.name))?.name;
  if (clash !== undefined) throw new PodInvalidError(`the name ${clash} is reserved for what meshlet injects; rename the pod's container or volume`);
}

/** `template`: the workload whose pod template this is (`meshlet inject -f`); the webhook's pods name their owner themselves. */
export function inject(input: unknown, namespace: NamespaceInfo, mesh: MeshConfig, template?: TemplateOwner): InjectResult {
  const original = checkPod(input);
  const skip = skipReason(original, namespace, mesh);
  if (skip) return { pod: original, patch: [], warnings: skip.warn ? [`not injected: ${skip.reason}`] : [], injected: false, skipped: skip.reason };

  const warnings: string[] = [];
  const settings = podSettings(original.metadata?.annotations ?? {}, mesh, warnings, namespace);
  const pod = structuredClone(original);
  stripInjection(pod);
  const spec = pod.spec;
  reservedNames(pod);
  const meta = (pod.metadata ??= {});

  const userInit = spec.initContainers ?? [];
  const probers = rewriteProbes([...userInit, ...spec.containers], settings.excludeInboundPorts, warnings);
  const init = initContainer(mesh, settings);
  const proxy = proxyContainer(mesh, settings, probers, workloadOf(original, template));
  const status: InjectionStatus = {
    version: mesh.version, sidecarMode: settings.sidecarMode,
    initContainers: [CONTAINER_NAMES.init], containers: [], volumes: [], labels: [], annotations: [],
  };
  if (settings.sidecarMode === 'native') {
    spec.initContainers = [init, proxy, ...userInit];
    status.initContainers.push(CONTAINER_NAMES.proxy);
  } else {
    spec.initContainers = [init, ...userInit];
    const app = spec.containers[0]!.name;
    spec.containers = [proxy, ...spec.containers];
    status.containers.push(CONTAINER_NAMES.proxy);
    const annotations = (meta.annotations ??= {});
    // With the proxy first, `kubectl logs/exec` would pick it; point them at the app.
    if (annotations[DEFAULT_CONTAINER] === undefined) {
      annotations[DEFAULT_CONTAINER] = app;
      status.annotations.push(DEFAULT_CONTAINER);
    }
    if (userInit.length > 0) {
      warnings.push(`sidecar-mode legacy: init containers ${userInit.map((c) => c.name).join(', ')} run before the proxy and cannot reach the network through it (use native mode, or exclude their ports)`);
    }
  }
  const added = volumes(mesh);
  spec.volumes = [...(spec.volumes ?? []), ...added];
  status.volumes = added.map((v) => v.name);
  const labels = (meta.labels ??= {});
  if (labels[MESHED_POD_LABEL] !== MESHED_POD_LABEL_VALUE) {
    labels[MESHED_POD_LABEL] = MESHED_POD_LABEL_VALUE;
    status.labels.push(MESHED_POD_LABEL);
  }
  (meta.annotations ??= {})[POD_ANNOTATIONS.injectionStatus] = formatStatus(status);
  return { pod, patch: jsonpatch.compare(original, pod), warnings, injected: true };
}
