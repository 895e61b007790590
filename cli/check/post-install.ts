// After `helm install`: the controller is up, it has filled the webhook's caBundle, its CA is
// valid for a while yet, and the root bundle reached every injected namespace. The CA is
// validated by the controller's own loader, so check and controller never disagree on it.
import { X509Certificate } from 'node:crypto';
import { CA_SECRET, ROOT_CA_CONFIGMAP } from '../../api/identity.ts';
import { INJECT_LABEL, INJECT_LABEL_ENABLED } from '../../api/names.ts';
import { loadCa } from '../../controller/identity/ca.ts';
import { isStatus } from '../../controller/provider/kubernetes/index.ts';
import { agentsCheck } from './agents.ts';
import { gatewayClassCheck, routesAcceptedCheck, routesPropagatedCheck } from './gateway-status.ts';
import { clockSkewCheck } from './clock-skew.ts';
import { leaderCheck } from './leader.ts';
import { proxiesCheck } from './proxies.ts';
import type { Check, CheckContext } from './result.ts';
import { webhookReachableCheck } from './webhook-reachable.ts';

/** A CA closer than this to its end is reported: workload certificates stop being issued. */
export const CA_EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

interface Deployment { spec?: { replicas?: number }; status?: { readyReplicas?: number; updatedReplicas?: number } }
interface Webhook { webhooks?: { name: string; clientConfig?: { caBundle?: string } }[] }
interface Secret { data?: Record<string, string> }
interface ConfigMap { data?: Record<string, string> }

const b64 = (s: string | undefined) => Buffer.from(s ?? '', 'base64').toString('utf8');

async function getOrNull<T>(ctx: CheckContext, path: string): Promise<T | null> {
  try {
    return await ctx.client.get<T>(path);
  } catch (err) {
    if (isStatus(err, 404)) return null;
    throw err;
  }
}

export const POST_INSTALL_CHECKS: readonly Check[] = [
  {
    name: 'controller Deployment',
    async run(ctx) {
      const d = await getOrNull<Deployment>(ctx, `/apis/apps/v1/namespaces/${ctx.namespace}/deployments/meshlet-controller`);
      if (!d) return { ok: false, detail: `no Deployment ${ctx.namespace}/meshlet-controller`, hint: `helm install meshlet charts/meshlet -n ${ctx.namespace} (or pass --namespace)` };
      const want = d.spec?.replicas ?? 1;
      const ready = d.status?.readyReplicas ?? 0;
      return ready >= want
        ? { ok: true, detail: `${ready}/${want} replicas ready` }
        : { ok: false, detail: `${ready}/${want} replicas ready`, hint: `kubectl -n ${ctx.namespace} describe deploy/meshlet-controller; kubectl -n ${ctx.namespace} logs deploy/meshlet-controller` };
    },
  },
  leaderCheck,
  {
    name: 'injection webhook caBundle',
    async run(ctx) {
      const w = await getOrNull<Webhook>(ctx, `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(ctx.webhookName)}`);
      if (!w) return { ok: false, detail: `no MutatingWebhookConfiguration ${ctx.webhookName}`, hint: 'the chart creates it: is meshlet installed? Installed with another webhook.name: pass --webhook-name' };
      // Every webhook of the configuration, each with a certificate the API server can use
      // now: an empty, garbled or expired bundle fails every injection just the same.
      for (const hook of w.webhooks ?? []) {
        const bundle = b64(hook.clientConfig?.caBundle);
        if (!bundle.includes('BEGIN CERTIFICATE')) return { ok: false, detail: `caBundle of ${hook.name} is empty`, hint: 'the controller fills it once its CA is loaded: check its logs' };
        let cert: X509Certificate;
        try {
          cert = new X509Certificate(bundle);
        } catch (err) {
          return { ok: false, detail: `caBundle of ${hook.name} is not a certificate: ${(err as Error).message}`, hint: 'the controller rewrites it within seconds: check its logs; something else may be patching it' };
        }
        if (Date.parse(cert.validTo) <= ctx.now.getTime()) return { ok: false, detail: `caBundle of ${hook.name} expired ${new Date(cert.validTo).toISOString()}`, hint: 'rotate the mesh CA (docs/security.md); the controller then republishes the bundle' };
      }
      if ((w.webhooks ?? []).length === 0) return { ok: false, detail: `${ctx.webhookName} has no webhook`, hint: 'helm upgrade meshlet restores it' };
      return { ok: true, detail: 'filled by the controller, a valid certificate' };
    },
  },
  {
    name: 'mesh CA',
    async run(ctx) {
      const s = await getOrNull<Secret>(ctx, `/api/v1/namespaces/${ctx.namespace}/secrets/${CA_SECRET.name}`);
      if (!s) return { ok: false, detail: `no Secret ${ctx.namespace}/${CA_SECRET.name}`, hint: 'the controller creates it at start: check its logs' };
      const d = s.data ?? {};
      const ca = loadCa({ caPem: b64(d[CA_SECRET.caKey]), certPem: b64(d[CA_SECRET.certKey]), keyPem: b64(d[CA_SECRET.keyKey]) }, ctx.now);
      const days = Math.floor((ca.notAfter.getTime() - ctx.now.getTime()) / DAY_MS);
      return days >= CA_EXPIRY_WARNING_DAYS
        ? { ok: true, detail: `valid, ${days} days left` }
        : { ok: false, detail: `expires in ${days} days (${ca.notAfter.toISOString()})`, hint: `rotate the CA: replace Secret ${ctx.namespace}/${CA_SECRET.name} (docs/security.md)` };
    },
  },
  {
    name: `${ROOT_CA_CONFIGMAP.name} in injected namespaces`,
    async run(ctx) {
      const list = await ctx.client.list<{ metadata: { name: string } }>('/api/v1/namespaces', { labelSelector: `${INJECT_LABEL}=${INJECT_LABEL_ENABLED}` });
      const missing: string[] = [];
      for (const ns of list.items.map((n) => n.metadata.name).sort()) {
        const cm = await getOrNull<ConfigMap>(ctx, `/api/v1/namespaces/${ns}/configmaps/${ROOT_CA_CONFIGMAP.name}`);
        const pem = cm?.data?.[ROOT_CA_CONFIGMAP.key] ?? '';
        try {
          new X509Certificate(pem);
        } catch {
          missing.push(ns);
        }
      }
      if (list.items.length === 0) return { ok: true, detail: `no namespace labelled ${INJECT_LABEL}=${INJECT_LABEL_ENABLED} yet` };
      return missing.length === 0
        ? { ok: true, detail: `present in ${list.items.length} namespace(s)` }
        : { ok: false, detail: `missing or unreadable in ${missing.join(', ')}`, hint: 'the controller publishes it within a minute of labelling; check its logs' };
    },
  },
  webhookReachableCheck,
  agentsCheck,
  proxiesCheck,
  gatewayClassCheck,
  routesAcceptedCheck,
  routesPropagatedCheck,
  clockSkewCheck,
];
