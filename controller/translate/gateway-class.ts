// GatewayClass: we own classes whose spec.controllerName is meshlet's gateway controller and
// never touch the others. An owned class is Accepted unless it names parametersRef, which
// meshlet does not support (InvalidParameters), so users learn that instead of guessing.
import { GATEWAY_API_GROUP, GATEWAY_CONTROLLER_NAME } from '../../api/names.ts';
import { conditionsOf, makeCondition } from './conditions.ts';
import { supportedFeaturesStatus } from './features.ts';
import type { KubeObject, StatusUpdate } from './snapshot.ts';
import { generationOf, nameOf, specOf, str } from './util.ts';

export interface ClassInfo {
  name: string;
  accepted: boolean;
}

export function isOwnedClass(obj: KubeObject): boolean {
  return str(specOf(obj).controllerName) === GATEWAY_CONTROLLER_NAME && nameOf(obj) !== undefined;
}

/** Owned classes by name, with their acceptance, plus their status updates. */
export function translateGatewayClasses(classes: KubeObject[]): { owned: Map<string, ClassInfo>; statuses: StatusUpdate[] } {
  const owned = new Map<string, ClassInfo>();
  const statuses: StatusUpdate[] = [];
  for (const gc of classes) {
    if (!isOwnedClass(gc)) continue;
    const name = nameOf(gc)!;
    const params = specOf(gc).parametersRef;
    const accepted = params === undefined || params === null;
    const cond = accepted
      ? makeCondition('Accepted', true, 'Accepted', 'GatewayClass is accepted by meshlet', generationOf(gc), conditionsOf(gc.status))
      : makeCondition('Accepted', false, 'InvalidParameters', 'meshlet does not support spec.parametersRef', generationOf(gc), conditionsOf(gc.status));
    owned.set(name, { name, accepted });
    statuses.push({
      apiVersion: gc.apiVersion || `${GATEWAY_API_GROUP}/v1`,
      kind: 'GatewayClass',
      name,
      status: { conditions: [cond], supportedFeatures: supportedFeaturesStatus() },
    });
  }
  return { owned, statuses };
}
