// injector/inject: the pure half of the injector. inject() turns a pod into the injected pod
// (meshlet-init, the meshlet-proxy sidecar, volumes, rewritten probes, status annotation) plus
// the JSON Patch between them, validating meshlet.dev/* annotations and re-checking selection.
// No I/O: the webhook (injector/webhook) and `meshlet inject` (cli/) are its two front doors.
export { inject, type InjectResult, type PatchOperation } from './inject.ts';
export { workloadOf, type TemplateOwner } from './workload.ts';
export { defaultMeshConfig, resolveMeshConfig, MESHLET_VERSION, type MeshConfig, type Resources } from './mesh-config.ts';
export { podSettings, type PodSettings } from './annotations.ts';
export { skipReason, type NamespaceInfo, type Skip } from './selection.ts';
export { parseStatus, type InjectionStatus } from './status.ts';
export { InjectionAnnotationError, PodInvalidError, MeshConfigInvalidError } from './errors.ts';
export type { Pod, PodSpec, Container, Probe, Volume, ObjectMeta } from './types.ts';
