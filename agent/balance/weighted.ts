// Smooth weighted round-robin (the nginx scheme) over a rule's backends. Deterministic, so
// shares are exact over any window of sum(weights) picks, even when every request arrives on
// one reused client connection; Math.random per request only converges "on average".
export interface WeightedPicker<T> {
  pick(): T | null;
}

interface Slot<T> {
  item: T;
  weight: number;
  current: number;
}

export function smoothWeighted<T>(items: readonly T[], weightOf: (item: T) => number): WeightedPicker<T> {
  const slots: Slot<T>[] = items
    .map((item) => ({ item, weight: Math.max(0, Math.floor(weightOf(item))), current: 0 }))
    .filter((s) => s.weight > 0);
  const total = slots.reduce((sum, s) => sum + s.weight, 0);
  return {
    pick(): T | null {
      if (slots.length === 0) return null;
      let best: Slot<T> | undefined;
      for (const s of slots) {
        s.current += s.weight;
        if (!best || s.current > best.current) best = s;
      }
      best!.current -= total;
      return best!.item;
    },
  };
}

/**
 * Remembers one picker per backend list (keyed by identity: a new routing table brings new
 * lists, so state resets with the table without any explicit invalidation).
 */
export class WeightedPickers<T> {
  readonly #pickers = new WeakMap<readonly T[], WeightedPicker<T>>();
  readonly #weightOf: (item: T) => number;

  constructor(weightOf: (item: T) => number) {
    this.#weightOf = weightOf;
  }

  pick(items: readonly T[]): T | null {
    let picker = this.#pickers.get(items);
    if (!picker) {
      picker = smoothWeighted(items, this.#weightOf);
      this.#pickers.set(items, picker);
    }
    return picker.pick();
  }
}
