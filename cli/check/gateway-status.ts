// What the controller wrote back into the Gateway API: the GatewayClasses it controls accepted,
// and every route it reports on Accepted at the route's current generation. A route stuck
// without Accepted is the first thing a user meets ("my route does nothing"), and its
// condition message already says why, so the hint repeats it. Proxies at the latest config:
// the controller's own route condition meshlet.dev/Propagated counts, per route, the connected
// proxies that acknowledged the table holding its current generation.
import { GATEWAY_CONTROLLER_NAME, MESH_CONTROLLER_NAME } from '../../api/names.ts';
import { isStatus } from '../../controller/provider/kubernetes/index.ts';
import { PROPAGATED_CONDITION } from '../../controller/status/propagation.ts';
import type { Check, CheckContext } from './result.ts';

const GROUP = '/apis/gateway.networking.k8s.io/v1';
const OURS = new Set([GATEWAY_CONTROLLER_NAME, MESH_CONTROLLER_NAME]);
/** Route kinds meshlet serves, by plural; a kind whose CRD is absent is skipped. */
const ROUTE_PLURALS = ['httproutes', 'grpcroutes'];

interface Condition { type: string; status: string; reason?: string; message?: string; observedGeneration?: number }
interface Meta { name: string; namespace?: string; generation?: number }
interface GatewayClass { metadata: Meta; spec?: { controllerName?: string }; status?: { conditions?: Condition[] } }
interface Route { metadata: Meta; status?: { parents?: { controllerName?: string; parentRef?: { name?: string }; conditions?: Condition[] }[] } }

/** Why a status is not Accepted at `generation`, or undefined when it is. */
function notAccepted(conds: Condition[] | undefined, generation: number | undefined): string | undefined {
  const c = conds?.find((x) => x.type === 'Accepted');
  if (c === undefined) return 'no Accepted condition yet';
  const why = `${c.status}${c.reason ? ` ${c.reason}` : ''}${c.message ? `: ${c.message}` : ''}`;
  if (c.status !== 'True') return why;
  // A condition for an older generation says nothing about the spec the user applied last.
  if (generation !== undefined && c.observedGeneration !== undefined && c.observedGeneration < generation) return `Accepted for generation ${c.observedGeneration}, the object is at ${generation}`;
  return undefined;
}

async function listOrNone<T>(ctx: CheckContext, path: string): Promise<T[] | null> {
  try {
    return (await ctx.client.list<T>(path)).items;
  } catch (err) {
    if (isStatus(err, 404)) return null;
    throw err;
  }
}

export const gatewayClassCheck: Check = {
  name: 'GatewayClass accepted',
  async run(ctx) {
    const classes = (await listOrNone<GatewayClass>(ctx, `${GROUP}/gatewayclasses`)) ?? [];
    const ours = classes.filter((c) => OURS.has(c.spec?.controllerName ?? ''));
    if (ours.length === 0) return { ok: false, detail: `no GatewayClass with controllerName ${GATEWAY_CONTROLLER_NAME}`, hint: 'the chart creates GatewayClass meshlet (gatewayClass.create): is meshlet installed?' };
    const refused = ours.flatMap((c) => {
      const why = notAccepted(c.status?.conditions, c.metadata.generation);
      return why === undefined ? [] : [`${c.metadata.name} (${why})`];
    });
    return refused.length === 0
      ? { ok: true, detail: `${ours.map((c) => c.metadata.name).sort().join(', ')} accepted` }
      : { ok: false, detail: `not accepted: ${refused.join(', ')}`, hint: `the controller leader writes the status: kubectl -n ${ctx.namespace} logs deploy/meshlet-controller` };
  },
};

export const routesAcceptedCheck: Check = {
  name: 'routes Accepted',
  async run(ctx) {
    let total = 0;
    const refused: string[] = [];
    for (const plural of ROUTE_PLURALS) {
      for (const r of (await listOrNone<Route>(ctx, `${GROUP}/${plural}`)) ?? []) {
        const parents = (r.status?.parents ?? []).filter((p) => OURS.has(p.controllerName ?? ''));
        if (parents.length === 0) continue;
        total++;
        for (const p of parents) {
          const why = notAccepted(p.conditions, r.metadata.generation);
          if (why !== undefined) refused.push(`${plural.slice(0, -1)} ${r.metadata.namespace ?? ''}/${r.metadata.name} on ${p.parentRef?.name ?? '?'} (${why})`);
        }
      }
    }
    if (refused.length > 0) return { ok: false, detail: `not Accepted: ${refused.join('; ')}`, hint: 'kubectl describe the route: its status names the parentRef or backendRef at fault' };
    return { ok: true, detail: total === 0 ? 'no route attached to meshlet yet' : `${total} route(s) Accepted` };
  },
};

export const routesPropagatedCheck: Check = {
  name: 'routes propagated to proxies',
  async run(ctx) {
    let counted = 0;
    const behind: string[] = [];
    for (const plural of ROUTE_PLURALS) {
      for (const r of (await listOrNone<Route>(ctx, `${GROUP}/${plural}`)) ?? []) {
        for (const p of (r.status?.parents ?? []).filter((x) => OURS.has(x.controllerName ?? ''))) {
          const c = p.conditions?.find((x) => x.type === PROPAGATED_CONDITION);
          // Without the condition the controller has nothing to say yet (no proxy uses the route).
          if (c === undefined) continue;
          counted++;
          const stale = r.metadata.generation !== undefined && c.observedGeneration !== undefined && c.observedGeneration < r.metadata.generation;
          if (c.status !== 'True' || stale) behind.push(`${plural.slice(0, -1)} ${r.metadata.namespace ?? ''}/${r.metadata.name} (${stale ? `counted for generation ${c.observedGeneration}, the route is at ${r.metadata.generation}` : c.message ?? c.status})`);
        }
      }
    }
    if (behind.length > 0) return { ok: false, detail: `proxies behind: ${behind.join('; ')}`, hint: `a count that does not reach the total within seconds means proxies refused the table (NACK): kubectl -n ${ctx.namespace} logs deploy/meshlet-controller | grep -i nack` };
    return { ok: true, detail: counted === 0 ? 'no route counted by the controller yet' : `every connected proxy runs the latest version of ${counted} route parent(s)` };
  },
};
