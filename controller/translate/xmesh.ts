// XMesh (GEP-3949, gateway.networking.x-k8s.io): mesh-wide settings of a GAMMA mesh. We own the
// XMesh objects naming meshlet's mesh controller and report Accepted plus the features we claim.
import { MESH_CONTROLLER_NAME } from '../../api/names.ts';
import { conditionsOf, makeCondition } from './conditions.ts';
import { meshFeaturesStatus } from './features.ts';
import type { KubeObject, StatusUpdate } from './snapshot.ts';
import { generationOf, nameOf, specOf, str } from './util.ts';

export function translateMeshes(meshes: KubeObject[]): StatusUpdate[] {
  const out: StatusUpdate[] = [];
  for (const m of meshes) {
    const name = nameOf(m);
    if (name === undefined || str(specOf(m).controllerName) !== MESH_CONTROLLER_NAME) continue;
    const params = specOf(m).parametersRef;
    const accepted = params === undefined || params === null;
    const cond = accepted
      ? makeCondition('Accepted', true, 'Accepted', 'Mesh is accepted by meshlet', generationOf(m), conditionsOf(m.status))
      : makeCondition('Accepted', false, 'InvalidParameters', 'meshlet does not support spec.parametersRef', generationOf(m), conditionsOf(m.status));
    out.push({ apiVersion: m.apiVersion, kind: 'XMesh', name, status: { conditions: [cond], supportedFeatures: meshFeaturesStatus() } });
  }
  return out;
}
