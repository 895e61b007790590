// The MutatingWebhookConfiguration that routes pod creation to the webhook. Its selectors are
// the first line of defence against the mesh's most feared failure, a webhook outage blocking
// pods cluster-wide: only namespaces labelled meshlet.dev/inject=enabled are ever sent, never
// the system namespaces (even if someone labels them), and never pods labelled
// meshlet.dev/inject=false. failurePolicy Fail (default) never lets a pod in a meshed namespace
// start silently outside the mesh; Ignore trades that for availability.
import { INJECT_LABEL, INJECT_LABEL_ENABLED, PORTS } from '../api/names.ts';
import { INJECT_OPT_OUT_VALUES } from '../api/pod-annotations.ts';
import { WEBHOOK_PATH } from './webhook/server.ts';

export const WEBHOOK_CONFIG_API = 'admissionregistration.k8s.io/v1';
/** The webhook's own name inside the configuration (must be a qualified name). */
export const WEBHOOK_ENTRY_NAME = 'sidecar-injector.meshlet.dev';

export interface WebhookConfigOptions {
  /** Default meshlet-injector. */
  name?: string;
  /** The controller's namespace and Service. */
  namespace: string;
  serviceName?: string;
  servicePort?: number;
  /** PEM of the CA that signed the webhook's serving certificate. */
  caBundlePem?: string;
  failurePolicy?: 'Fail' | 'Ignore';
  timeoutSeconds?: number;
}

export function webhookConfigPath(name: string): string {
  return `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${encodeURIComponent(name)}`;
}

export function caBundleOf(pem: string): string {
  return Buffer.from(pem).toString('base64');
}

export function webhookConfiguration(o: WebhookConfigOptions): Record<string, unknown> {
  return {
    apiVersion: WEBHOOK_CONFIG_API,
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: o.name ?? 'meshlet-injector', labels: { 'app.kubernetes.io/name': 'meshlet', 'app.kubernetes.io/component': 'injector' } },
    webhooks: [{
      name: WEBHOOK_ENTRY_NAME,
      admissionReviewVersions: ['v1'],
      clientConfig: {
        service: { name: o.serviceName ?? 'meshlet-controller', namespace: o.namespace, path: WEBHOOK_PATH, port: o.servicePort ?? PORTS.webhook },
        ...(o.caBundlePem !== undefined ? { caBundle: caBundleOf(o.caBundlePem) } : {}),
      },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }],
      namespaceSelector: {
        matchLabels: { [INJECT_LABEL]: INJECT_LABEL_ENABLED },
        matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'kube-public', 'kube-node-lease', o.namespace] }],
      },
      objectSelector: { matchExpressions: [{ key: INJECT_LABEL, operator: 'NotIn', values: [...INJECT_OPT_OUT_VALUES] }] },
      failurePolicy: o.failurePolicy ?? 'Fail',
      matchPolicy: 'Equivalent',
      sideEffects: 'None',
      timeoutSeconds: o.timeoutSeconds ?? 10,
      // Another webhook that adds a container after us gets its probes and ports seen by a second pass.
      reinvocationPolicy: 'IfNeeded',
    }],
  };
}
