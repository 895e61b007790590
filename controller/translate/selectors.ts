// Kubernetes label selectors (matchLabels + matchExpressions), used by a listener's
// allowedRoutes.namespaces.selector against Namespace labels. A malformed selector selects
// nothing: failing closed is the safe reading of a permission rule.
import { isRec, list, rec, recs, str } from './util.ts';

export function selectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  if (!isRec(selector)) return false;
  for (const [k, v] of Object.entries(rec(selector.matchLabels))) {
    if (labels[k] !== v) return false;
  }
  for (const e of recs(selector.matchExpressions)) {
    const key = str(e.key);
    if (key === undefined) return false;
    const values = list(e.values).filter((v): v is string => typeof v === 'string');
    const has = Object.hasOwn(labels, key);
    switch (str(e.operator)) {
      case 'In': if (!has || !values.includes(labels[key]!)) return false; break;
      case 'NotIn': if (has && values.includes(labels[key]!)) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

/** Why a selector is malformed, or null; the listener reports it rather than guessing. */
export function selectorProblem(selector: unknown): string | null {
  if (!isRec(selector)) return 'allowedRoutes.namespaces.selector is required with from: Selector';
  for (const [k, v] of Object.entries(rec(selector.matchLabels))) {
    if (typeof v !== 'string') return `allowedRoutes.namespaces.selector.matchLabels[${k}] must be a string`;
  }
  for (const [i, e] of list(selector.matchExpressions).entries()) {
    const expr = rec(e);
    const op = str(expr.operator);
    const values = list(expr.values);
    if (str(expr.key) === undefined) return `allowedRoutes.namespaces.selector.matchExpressions[${i}].key is required`;
    if (op === 'In' || op === 'NotIn') {
      if (values.length === 0 || values.some((v) => typeof v !== 'string')) return `allowedRoutes.namespaces.selector.matchExpressions[${i}]: ${op} needs string values`;
    } else if (op === 'Exists' || op === 'DoesNotExist') {
      if (values.length > 0) return `allowedRoutes.namespaces.selector.matchExpressions[${i}]: ${op} takes no values`;
    } else {
      return `allowedRoutes.namespaces.selector.matchExpressions[${i}]: unknown operator ${JSON.stringify(expr.operator ?? null)}`;
    }
  }
  return null;
}
