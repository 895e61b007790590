// `meshlet check [--pre]`: is this cluster ready for meshlet (--pre), and is the installed
// mesh working (the default runs both)? One line per check with ✔/✖ and, on failure, a hint;
// exit 1 when any check fails, so CI and install scripts can gate on it.
import { parseArgs } from 'node:util';
import { MESHLET_SYSTEM_NAMESPACE } from '../api/identity.ts';
import { KubeClient, KubeConfigError, loadKubeConfig } from '../controller/provider/kubernetes/index.ts';
import { defaultMeshConfig } from '../injector/inject/index.ts';
import { POST_INSTALL_CHECKS, PRE_INSTALL_CHECKS, formatResult, runChecks } from './check/index.ts';
import type { Command } from './command.ts';
import { UsageError } from './usage-error.ts';

/** The chart's default webhook.name, which is also the controller's (mesh config webhookName). */
const DEFAULT_WEBHOOK_NAME = defaultMeshConfig().webhookName;

const HELP = `Usage: meshlet check [--pre] [--only NAME]... [--kubeconfig FILE] [--namespace NS] [--webhook-name NAME] [-o text|json]

Checks a cluster, one line per check (✔ passed, ✖ failed, with a hint). Exit 0 when every
check passes, 1 otherwise.

  before install (--pre, and always first): the API answers; Kubernetes >= 1.29 (native
    sidecar containers); the Gateway API CRDs are installed and their bundle version; you may
    create every kind the chart installs (SelfSubjectAccessReview)
  after install: the controller Deployment is ready and one replica holds the Lease; the
    webhook's caBundle holds a valid certificate; the mesh CA Secret is valid and not within 30 days of
    expiry; meshlet-root-ca is in every namespace labelled meshlet.dev/inject=enabled; a
    dry-run Pod there is injected (the API server reaches the webhook); agents connected to
    each controller replica (its /metrics via the pod proxy); every running injected pod's
    proxy answers /ready (connected, a routing table in force) and, with a mesh identity, has
    a certificate with time left; the GatewayClasses meshlet
    controls are accepted; every route meshlet reports on is Accepted at its generation and
    every connected proxy runs its latest version (meshlet.dev/Propagated); this machine's
    clock is within 30 s of the API server's

Flags:
  --pre              only the pre-install checks
  --only NAME        only the check with this name (repeatable), e.g. the chart's helm test
                     runs --only 'injection webhook caBundle'
  --kubeconfig FILE  kubeconfig to use (default: $KUBECONFIG, in-cluster, ~/.kube/config)
  --namespace NS     meshlet's namespace (default ${MESHLET_SYSTEM_NAMESPACE})
  --webhook-name NAME
                     the MutatingWebhookConfiguration, the chart's webhook.name
                     (default ${DEFAULT_WEBHOOK_NAME})
  -o, --output FMT   text (default) or json: {"ok": bool, "checks": [{name, ok, detail, hint?}]}
`;

export const checkCommand: Command = {
  name: 'check',
  summary: 'check a cluster before (--pre) and after installing meshlet',
  help: HELP,
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        pre: { type: 'boolean', default: false },
        only: { type: 'string', multiple: true, default: [] },
        kubeconfig: { type: 'string' },
        namespace: { type: 'string', default: MESHLET_SYSTEM_NAMESPACE },
        'webhook-name': { type: 'string', default: DEFAULT_WEBHOOK_NAME },
        output: { type: 'string', short: 'o', default: 'text' },
      },
      strict: true,
    });
    if (values.output !== 'text' && values.output !== 'json') throw new UsageError(`-o wants text or json, got '${values.output}'`);
    const json = values.output === 'json';
    let loaded;
    try {
      loaded = loadKubeConfig({ kubeconfig: values.kubeconfig });
    } catch (err) {
      if (err instanceof KubeConfigError) throw new UsageError(err.message);
      throw err;
    }
    const ctx = { client: new KubeClient(loaded.config, 10_000), namespace: values.namespace, webhookName: values['webhook-name'], now: new Date() };
    const all = values.pre ? PRE_INSTALL_CHECKS : [...PRE_INSTALL_CHECKS, ...POST_INSTALL_CHECKS];
    const unknown = values.only.filter((n) => !all.some((c) => c.name === n));
    if (unknown.length > 0) throw new UsageError(`--only: no check named ${unknown.map((n) => `'${n}'`).join(', ')} (known: ${all.map((c) => c.name).join(', ')})`);
    const checks = values.only.length === 0 ? all : all.filter((c) => values.only.includes(c.name));
    // Text lines appear as each check ends (some wait on the API); JSON is one document at the end.
    const results = await runChecks(checks, ctx, (r) => { if (!json) io.stdout.write(formatResult(r)); });
    const failed = results.filter((r) => !r.ok).length;
    if (json) io.stdout.write(`${JSON.stringify({ ok: failed === 0, checks: results }, null, 2)}\n`);
    else io.stdout.write(failed === 0 ? `\nall ${results.length} checks passed\n` : `\n${failed} of ${results.length} checks failed\n`);
    return failed === 0 ? 0 : 1;
  },
};
