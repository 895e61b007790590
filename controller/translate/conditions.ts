// metav1.Condition construction. Translation is pure and has no clock, so lastTransitionTime is
// either carried over from the existing condition of the same type when its status did not
// change, or set to PLACEHOLDER_TIME, which the status writer (controller/status) replaces with
// the time it writes. Route conditions always take the placeholder: the writer keeps their
// stored times (route-status.ts says why). The placeholder is the Unix epoch, the same value the Gateway API CRDs use
// for their defaulted "Pending" conditions, so it is never mistaken for a real transition.
import { isRec, recs, str } from './util.ts';

export const PLACEHOLDER_TIME = '1970-01-01T00:00:00Z';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration: number;
  lastTransitionTime: string;
}

/** Builds a condition, keeping the previous lastTransitionTime when the status is unchanged. */
export function makeCondition(
  type: string,
  status: ConditionStatus | boolean,
  reason: string,
  message: string,
  observedGeneration: number,
  previous: unknown,
): Condition {
  const s: ConditionStatus = status === true ? 'True' : status === false ? 'False' : status;
  const prev = recs(previous).find((c) => c.type === type);
  const prevTime = prev && prev.status === s ? str(prev.lastTransitionTime) : undefined;
  return { type, status: s, reason, message, observedGeneration, lastTransitionTime: prevTime ?? PLACEHOLDER_TIME };
}

/** The `conditions` array of a status-like value, or undefined. */
export function conditionsOf(status: unknown): unknown {
  return isRec(status) ? status.conditions : undefined;
}
