// HTTPS listener certificateRefs → SecretIR. A usable certificate is a core Secret of type
// kubernetes.io/tls whose tls.crt holds PEM certificate blocks and tls.key one unencrypted PEM
// private key. We only check the PEM shape (armour lines and base64 bodies): pure code does no
// crypto, and the ingress reports a key that parses but does not load.
import { GATEWAY_API_GROUP } from '../../api/names.ts';
import type { SecretIR } from '../../api/routing-table.ts';
import type { Lookup } from './lookup.ts';
import { isReferenceAllowed } from './reference-grants.ts';
import type { KubeObject } from './snapshot.ts';
import { nameOf, namespaceOf, str, type Rec } from './util.ts';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END \1-----/g;
const KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY']);

function pemBlocks(text: string): { label: string; body: string }[] {
  const out: { label: string; body: string }[] = [];
  for (const m of text.matchAll(BLOCK)) out.push({ label: m[1]!, body: m[2]!.replace(/\s+/g, '') });
  return out;
}

function validBody(body: string): boolean {
  return body.length > 0 && body.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(body);
}

function decode(v: unknown): string | null {
  if (typeof v !== 'string' || v === '') return null;
  if (!/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(v)) return null;
  return Buffer.from(v, 'base64').toString('utf8');
}

/** Null when the Secret is a usable TLS certificate, else why not. */
export function checkTlsSecret(secret: KubeObject): string | null {
  if (secret.type !== 'kubernetes.io/tls') return `Secret type is ${JSON.stringify(secret.type ?? null)}, expected kubernetes.io/tls`;
  const crt = decode(secret.data?.['tls.crt']);
  const key = decode(secret.data?.['tls.key']);
  if (crt === null) return 'tls.crt is missing or not base64';
  if (key === null) return 'tls.key is missing or not base64';
  const certs = pemBlocks(crt);
  if (certs.length === 0 || certs.some((b) => b.label !== 'CERTIFICATE' || !validBody(b.body))) return 'tls.crt does not hold PEM certificates';
  const keys = pemBlocks(key).filter((b) => b.label.endsWith('PRIVATE KEY'));
  if (keys.length !== 1 || !KEY_LABELS.has(keys[0]!.label) || !validBody(keys[0]!.body)) return 'tls.key does not hold one unencrypted PEM private key';
  return null;
}

export type CertResolution =
  | { ok: true; secret: SecretIR }
  | { ok: false; reason: 'InvalidCertificateRef' | 'RefNotPermitted'; message: string };

export function resolveCertificateRef(ref: Rec, gatewayNamespace: string, secrets: KubeObject[], lookup: Lookup, field: string): CertResolution {
  const group = str(ref.group) ?? '';
  const kind = str(ref.kind) ?? 'Secret';
  const name = str(ref.name);
  if (group !== '' || kind !== 'Secret') return { ok: false, reason: 'InvalidCertificateRef', message: `${field}: ${group || 'core'}/${kind} is not supported (only core Secrets)` };
  if (!name) return { ok: false, reason: 'InvalidCertificateRef', message: `${field}: missing name` };
  const namespace = str(ref.namespace) ?? gatewayNamespace;
  if (!isReferenceAllowed(lookup.grants, { group: GATEWAY_API_GROUP, kind: 'Gateway', namespace: gatewayNamespace }, { group: '', kind: 'Secret', namespace, name })) {
    return { ok: false, reason: 'RefNotPermitted', message: `${field}: no ReferenceGrant allows Gateways in ${gatewayNamespace} to reference Secret ${namespace}/${name}` };
  }
  const secret = secrets.find((s) => nameOf(s) === name && namespaceOf(s) === namespace);
  if (!secret) return { ok: false, reason: 'InvalidCertificateRef', message: `${field}: Secret ${namespace}/${name} not found` };
  const problem = checkTlsSecret(secret);
  if (problem) return { ok: false, reason: 'InvalidCertificateRef', message: `${field}: Secret ${namespace}/${name}: ${problem}` };
  return {
    ok: true,
    secret: {
      name: `secret/${namespace}/${name}`,
      certificateChain: decode(secret.data!['tls.crt'])!,
      privateKey: decode(secret.data!['tls.key'])!,
    },
  };
}
