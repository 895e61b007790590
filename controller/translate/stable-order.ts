// Sorting a list that is mostly last round's list again. Incremental translation sorts the same
// 10 000 route statuses, Service frontends and backends every round although at most a few of
// them changed (issue 14: an O(n log n) sort of strings per list per change). This keeps the last
// input and the order the sort put it in: an input whose every item is last round's item at the
// same position, or one the comparator calls equal to it (the same kind and name, rebuilt),
// sorts into the same order, because a comparator that calls two items equal orders them alike
// against every other item; so the kept order is applied after one pass of pointer comparisons.
// Anything else (an item added, removed or renamed) is sorted afresh. The result is always what a
// stable Array#sort of the input gives.
export class StableOrder<T> {
  #input: readonly T[] = [];
  #order: number[] = [];
  /** Sorts afresh (tests: how often the kept order could not be used). */
  sorts = 0;

  /** A new array: `items` sorted by `compare`, stable; `items` must not change afterwards (it is kept). */
  sort(items: readonly T[], compare: (a: T, b: T) => number): T[] {
    const prev = this.#input;
    let same = prev.length === items.length;
    for (let i = 0; same && i < items.length; i++) {
      const a = items[i]!;
      const b = prev[i]!;
      if (a !== b && compare(a, b) !== 0) same = false;
    }
    if (!same) {
      const order = Array.from(items, (_, i) => i);
      order.sort((i, j) => compare(items[i]!, items[j]!) || i - j);
      this.#order = order;
      this.sorts++;
    }
    this.#input = items;
    return this.#order.map((i) => items[i]!);
  }
}
