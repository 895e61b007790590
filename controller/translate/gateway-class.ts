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

/** The Gateway API release meshlet implements; older v1 bundles are served too. */
export const IMPLEMENTED_BUNDLE = { major: 1, minor: 6 };

/**
 * SupportedVersion (GEP-2162 / v1.1): True when the installed CRDs are a bundle version meshlet
 * implements, False when the annotation is missing or names another version. In file mode there
 * are no CRDs: the manifests are read as the implemented version, so the condition is True.
 */
export function supportedVersion(bundle: string | null | undefined): { ok: boolean; reason: string; message: string } {
  if (bundle === undefined) {
    return { ok: true, reason: 'SupportedVersion', message: `no CRDs to check (file mode): manifests are read as Gateway API v${IMPLEMENTED_BUNDLE.major}.${IMPLEMENTED_BUNDLE.minor}` };
  }
  if (bundle === null) return { ok: false, reason: 'UnsupportedVersion', message: 'the GatewayClass CRD has no gateway.networking.k8s.io/bundle-version annotation' };
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(bundle);
  const ok = m !== null && Number(m[1]) === IMPLEMENTED_BUNDLE.major && Number(m[2]) <= IMPLEMENTED_BUNDLE.minor;
  return ok
    ? { ok, reason: 'SupportedVersion', message: `Gateway API ${bundle} is supported` }
    : { ok, reason: 'UnsupportedVersion', message: `Gateway API ${bundle} is not supported: meshlet implements v${IMPLEMENTED_BUNDLE.major}.0 to v${IMPLEMENTED_BUNDLE.major}.${IMPLEMENTED_BUNDLE.minor}` };
}

/** Owned classes by name, with their acceptance, plus their status updates. */
export function translateGatewayClasses(classes: KubeObject[], bundleVersion?: string | null): { owned: Map<string, ClassInfo>; statuses: StatusUpdate[] } {
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
    const version = supportedVersion(bundleVersion);
    const versionCond = makeCondition('SupportedVersion', version.ok, version.reason, version.message, generationOf(gc), conditionsOf(gc.status));
    owned.set(name, { name, accepted });
    statuses.push({
      apiVersion: gc.apiVersion || `${GATEWAY_API_GROUP}/v1`,
      kind: 'GatewayClass',
      name,
      status: { conditions: [cond, versionCond], supportedFeatures: supportedFeaturesStatus() },
    });
  }
  return { owned, statuses };
}
