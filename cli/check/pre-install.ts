// Before `helm install`: the API answers, it is new enough for native sidecars (1.29), and the
// Gateway API CRDs meshlet implements are installed (the chart never ships them).
import { isStatus } from '../../controller/provider/kubernetes/index.ts';
import { installRbacCheck } from './install-rbac.ts';
import type { Check } from './result.ts';

const MIN_KUBERNETES = { major: 1, minor: 29 };
/** The oldest Gateway API bundle whose v1 kinds (GRPCRoute included) meshlet reads. */
const MIN_GATEWAY_API = 'v1.1.0';
const GATEWAY_CRDS = ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'referencegrants'];
const INSTALL_GATEWAY_API = 'kubectl apply --server-side -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.3/standard-install.yaml';

/** `v1.6.3` ≥ `v1.1.0`; pre-release and build suffixes are ignored. Unparsable: false. */
export function versionAtLeast(version: string, min: string): boolean {
  const parse = (v: string) => /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(v)?.slice(1).map((n) => Number(n ?? 0));
  const a = parse(version);
  const b = parse(min);
  if (!a || !b) return false;
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

interface VersionInfo { major: string; minor: string; gitVersion: string }
interface Crd { metadata: { annotations?: Record<string, string> } }

export const PRE_INSTALL_CHECKS: readonly Check[] = [
  {
    name: 'Kubernetes API',
    async run({ client }) {
      const v = await client.get<VersionInfo>('/version');
      return { ok: true, detail: `${client.server} answers (${v.gitVersion})` };
    },
  },
  {
    name: 'Kubernetes version',
    async run({ client }) {
      const v = await client.get<VersionInfo>('/version');
      // Managed clusters report minors like "29+".
      const version = `${v.major}.${v.minor.replace(/\D+$/, '')}`;
      const ok = versionAtLeast(version, `${MIN_KUBERNETES.major}.${MIN_KUBERNETES.minor}`);
      return ok
        ? { ok, detail: `${v.gitVersion} has native sidecar containers` }
        : { ok, detail: `${v.gitVersion} is older than 1.29`, hint: 'upgrade the cluster, or install with mesh.sidecarMode=legacy' };
    },
  },
  {
    name: 'Gateway API CRDs',
    async run({ client }) {
      const missing: string[] = [];
      let bundle: string | undefined;
      for (const plural of GATEWAY_CRDS) {
        try {
          const crd = await client.get<Crd>(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${plural}.gateway.networking.k8s.io`);
          bundle ??= crd.metadata.annotations?.['gateway.networking.k8s.io/bundle-version'];
        } catch (err) {
          if (!isStatus(err, 404)) throw err;
          missing.push(plural);
        }
      }
      if (missing.length > 0) return { ok: false, detail: `missing: ${missing.join(', ')}`, hint: INSTALL_GATEWAY_API };
      if (bundle === undefined) return { ok: true, detail: 'installed (no bundle-version annotation)' };
      return versionAtLeast(bundle, MIN_GATEWAY_API)
        ? { ok: true, detail: `installed, bundle ${bundle}` }
        : { ok: false, detail: `bundle ${bundle} is older than ${MIN_GATEWAY_API}`, hint: INSTALL_GATEWAY_API };
    },
  },
  installRbacCheck,
];
