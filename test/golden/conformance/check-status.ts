// Checks the statuses translate() computed against a case's expected conditions, the way the
// conformance suite's kubernetes helpers read them: route conditions per parent entry (written
// by meshlet's controller), Gateway listener conditions and attachedRoutes, and — as the suite
// requires of every condition it waits for — observedGeneration equal to the object's generation.
import type { KubeObject, StatusUpdate } from '../../../controller/translate/snapshot.ts';
import type { CaseExpectation, ConditionExpectation, ObjectKey } from './expectations.ts';

const OUR_CONTROLLERS = new Set(['meshlet.dev/gateway-controller', 'meshlet.dev/mesh-controller']);

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Rec : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const show = (k: ObjectKey): string => `${k.kind} ${k.namespace ? `${k.namespace}/` : ''}${k.name}`;

function findStatus(statuses: StatusUpdate[], key: ObjectKey): StatusUpdate | undefined {
  return statuses.find((s) => s.kind === key.kind && s.name === key.name && (s.namespace ?? '') === key.namespace);
}

function findObject(objects: KubeObject[], key: ObjectKey): KubeObject | undefined {
  return objects.find((o) => o.kind === key.kind && o.metadata.name === key.name && (o.metadata.namespace ?? '') === key.namespace);
}

/** The parent entry of a route status that refers to `parent` (defaults as the API defines them). */
function parentEntries(status: Rec, route: ObjectKey, parent: ObjectKey, sectionName: string | null): Rec[] {
  return arr(status.parents).map(rec).filter((p) => {
    const ref = rec(p.parentRef);
    const kind = typeof ref.kind === 'string' ? ref.kind : 'Gateway';
    const ns = typeof ref.namespace === 'string' ? ref.namespace : route.namespace;
    return OUR_CONTROLLERS.has(String(p.controllerName)) && kind === parent.kind && ref.name === parent.name
      && ns === parent.namespace && (sectionName === null || ref.sectionName === sectionName);
  });
}

function conditionsOf(c: ConditionExpectation, status: Rec): { where: string; list: unknown[] } | string {
  if (c.parent) {
    const entries = parentEntries(status, c.object, c.parent, c.sectionName);
    const where = `parent ${show(c.parent)}${c.sectionName ? ` section ${c.sectionName}` : ''}`;
    if (entries.length !== 1) return `${where}: expected one status.parents entry of meshlet, found ${entries.length}`;
    return { where, list: arr(entries[0]!.conditions) };
  }
  if (c.listener) {
    const l = arr(status.listeners).map(rec).find((x) => x.name === c.listener);
    if (!l) return `listener ${c.listener}: no status.listeners entry`;
    return { where: `listener ${c.listener}`, list: arr(l.conditions) };
  }
  return { where: 'status', list: arr(status.conditions) };
}

export function checkConditions(exp: CaseExpectation, statuses: StatusUpdate[], objects: KubeObject[]): string[] {
  const failures: string[] = [];
  for (const c of exp.conditions) {
    const su = findStatus(statuses, c.object);
    const label = `${show(c.object)} ${c.type}=${c.status ?? 'any'}${c.reason ? `/${c.reason}` : ''}`;
    if (!su) {
      failures.push(`${label}: translate() returned no status for the object`);
      continue;
    }
    const found = conditionsOf(c, su.status);
    if (typeof found === 'string') {
      failures.push(`${label}: ${found}`);
      continue;
    }
    const cond = found.list.map(rec).find((x) => x.type === c.type);
    if (!cond) {
      failures.push(`${label}: ${found.where} has no ${c.type} condition (has: ${found.list.map((x) => String(rec(x).type)).join(', ') || 'none'})`);
      continue;
    }
    if ((c.status !== null && cond.status !== c.status) || (c.reason !== null && cond.reason !== c.reason)) {
      failures.push(`${label}: ${found.where} has ${c.type}=${String(cond.status)}/${String(cond.reason)} (${typeof cond.message === 'string' ? cond.message : ''})`);
    }
    const generation = findObject(objects, c.object)?.metadata.generation;
    if (generation !== undefined && cond.observedGeneration !== generation) {
      failures.push(`${label}: observedGeneration ${String(cond.observedGeneration)}, object generation ${generation}`);
    }
  }
  return failures;
}

function gatewayKey(nsName: string): ObjectKey {
  const [namespace = '', name = ''] = nsName.split('/');
  return { kind: 'Gateway', namespace, name };
}

/** GatewayMustHaveLatestConditions and friends: no condition may lag the object's generation. */
export function checkLatest(exp: CaseExpectation, statuses: StatusUpdate[], objects: KubeObject[]): string[] {
  const failures: string[] = [];
  for (const key of exp.latestConditions) {
    const generation = findObject(objects, key)?.metadata.generation;
    const status = findStatus(statuses, key)?.status;
    if (generation === undefined || !status) {
      failures.push(`${show(key)}: needs a generation in the input and a status from translate()`);
      continue;
    }
    // As the suite's *MustHaveLatestConditions: the object's own conditions, and a route's
    // conditions under each parent (listener conditions are not part of that check).
    const lists: [string, unknown][] = [['status', status.conditions]];
    for (const p of arr(status.parents).map(rec)) {
      if (OUR_CONTROLLERS.has(String(p.controllerName))) lists.push([`parent ${String(rec(p.parentRef).name)}`, p.conditions]);
    }
    for (const [where, list] of lists) {
      for (const c of arr(list).map(rec)) {
        if (c.observedGeneration !== generation) failures.push(`${show(key)} ${where} ${String(c.type)}: observedGeneration ${String(c.observedGeneration)}, generation ${generation}`);
      }
    }
  }
  return failures;
}

export function checkGateways(exp: CaseExpectation, statuses: StatusUpdate[]): string[] {
  const failures: string[] = [];
  for (const l of exp.listeners) {
    const su = findStatus(statuses, gatewayKey(l.gateway));
    const entry = arr(su?.status.listeners).map(rec).find((x) => x.name === l.listener);
    const label = `Gateway ${l.gateway} listener ${l.listener}`;
    if (!entry) {
      failures.push(`${label}: no status.listeners entry`);
      continue;
    }
    if (l.attachedRoutes !== null && entry.attachedRoutes !== l.attachedRoutes) {
      failures.push(`${label}: attachedRoutes ${String(entry.attachedRoutes)}, expected ${l.attachedRoutes}`);
    }
    if (l.supportedKinds !== null) {
      // As the suite's listenersMatch: the expected kinds must be listed (an implementation may
      // support more), and an expected empty list means none at all.
      const got = arr(entry.supportedKinds).map((k) => String(rec(k).kind));
      const missing = l.supportedKinds.filter((k) => !got.includes(k));
      if (missing.length > 0 || (l.supportedKinds.length === 0 && got.length > 0)) {
        failures.push(`${label}: supportedKinds [${got.join(', ')}], expected ${l.supportedKinds.length === 0 ? 'none' : `to include [${l.supportedKinds.join(', ')}]`}`);
      }
    }
  }
  for (const g of exp.gatewayAddresses) {
    const su = findStatus(statuses, gatewayKey(g));
    if (arr(su?.status.addresses).length === 0) failures.push(`Gateway ${g}: status.addresses is empty`);
  }
  for (const route of exp.noAcceptedParents) {
    const su = findStatus(statuses, route);
    const accepted = arr(su?.status.parents).map(rec).filter((p) => OUR_CONTROLLERS.has(String(p.controllerName))
      && arr(p.conditions).map(rec).some((c) => c.type === 'Accepted' && c.status === 'True'));
    if (accepted.length > 0) failures.push(`${show(route)}: ${accepted.length} parent(s) Accepted, expected none`);
  }
  return failures;
}
