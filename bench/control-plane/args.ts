// The bench's numeric options, checked before anything starts: a value it cannot use is refused
// with the option's name and what it takes, never turned into NaN or a silent default.
/** A comma-separated list of whole numbers ≥ `min`; the error names the option and what it takes. */
export const list = (option: string, s: string | undefined, min = 1): number[] | undefined => s?.split(',').map((x) => {
  const n = Number(x);
  if (x.trim() === '' || !Number.isInteger(n) || n < min) throw new Error(`--${option} takes ${min === 0 ? 'whole numbers' : 'positive whole numbers'} separated by commas, not '${x}'`);
  return n;
});
export const whole = (option: string, s: string | undefined): number | undefined => {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === '' || !Number.isInteger(n) || n < 1) throw new Error(`--${option} takes a positive whole number, not '${s}'`);
  return n;
};

/**
 * --agents: counts of simulated agents, or 0 alone for the controller without agents (what a
 * route scale costs at rest: startup and RSS). 0 beside other counts means nothing more: refused.
 */
export function agentCountsOf(s: string | undefined): number[] | undefined {
  const counts = list('agents', s, 0);
  if (counts === undefined || !counts.includes(0)) return counts?.sort((a, b) => a - b);
  if (counts.length > 1) throw new Error(`--agents 0 (the controller alone) cannot be combined with other counts: '${s}'`);
  return [];
}
