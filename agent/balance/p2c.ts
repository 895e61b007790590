// Power of two choices: sample two distinct endpoints at random and take the less loaded one.
// Nearly as good as scanning all endpoints for the least loaded, without its herd behaviour
// (every proxy piling onto the same "best" endpoint) and in O(1).
export interface Loaded {
  load(): number;
}

export function pickP2C<T>(items: readonly T[], loadOf: (item: T) => Loaded, random: () => number = Math.random): T | null {
  const n = items.length;
  if (n === 0) return null;
  if (n === 1) return items[0]!;
  const i = Math.floor(random() * n) % n;
  let j = Math.floor(random() * (n - 1)) % (n - 1);
  if (j >= i) j++;
  const a = items[i]!;
  const b = items[j]!;
  return loadOf(b).load() < loadOf(a).load() ? b : a;
}
