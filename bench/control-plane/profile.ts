// How much the control-plane benchmark does: --quick (under 5 minutes) or the full run (under
// 15). Both cover every configuration the issue names; they differ in how many changes and
// fresh agents each one is measured with, and in how long a wait may take.
export interface CpProfile {
  name: 'quick' | 'full';
  routeCounts: number[];
  agentCounts: number[];
  changes: number;
  freshAgents: number;
  timeoutMs: number;
}

export const QUICK: CpProfile = { name: 'quick', routeCounts: [10, 1000, 10_000], agentCounts: [100, 1000], changes: 5, freshAgents: 3, timeoutMs: 90_000 };
export const FULL: CpProfile = { name: 'full', routeCounts: [10, 1000, 10_000], agentCounts: [100, 1000], changes: 15, freshAgents: 5, timeoutMs: 180_000 };
