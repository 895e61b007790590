// One check's outcome and how it is printed: ✔ or ✖, the name, what was seen, and a hint
// under a failure (the line a user acts on).
import type { KubeClient } from '../../controller/provider/kubernetes/index.ts';

export interface CheckContext {
  client: KubeClient;
  /** meshlet's namespace (the release's). */
  namespace: string;
  /** The MutatingWebhookConfiguration's name (the chart's webhook.name; `--webhook-name`). */
  webhookName: string;
  now: Date;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  hint?: string;
}

export interface Check {
  name: string;
  run(ctx: CheckContext): Promise<Omit<CheckResult, 'name'>>;
}

export function formatResult(r: CheckResult): string {
  const line = `${r.ok ? '✔' : '✖'} ${r.name}: ${r.detail}\n`;
  return r.ok || !r.hint ? line : `${line}    hint: ${r.hint}\n`;
}
