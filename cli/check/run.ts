// Runs checks in order. A check that throws (the API failing mid-way) is a failed line naming
// the error, never an aborted run: the user sees every other answer too.
import type { Check, CheckContext, CheckResult } from './result.ts';

export async function runChecks(checks: readonly Check[], ctx: CheckContext, onResult: (r: CheckResult) => void): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  for (const check of checks) {
    let r: CheckResult;
    try {
      r = { name: check.name, ...(await check.run(ctx)) };
    } catch (err) {
      r = { name: check.name, ok: false, detail: (err as Error).message, hint: 'is the API server reachable with this kubeconfig?' };
    }
    results.push(r);
    onResult(r);
  }
  return results;
}
