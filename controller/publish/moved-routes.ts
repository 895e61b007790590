// The routes whose `meshlet.dev/Propagated` answer may have moved, fed to the status writer so
// that its pass asks the counts of those alone instead of every route's on every pass (issue 14:
// the publisher's answer per route was ~45 % of a pass over 10 000 routes). The publisher adds a
// route when its count changes (a session's slice, ack or connection) or its generation does (a
// route changed in a new table); its one reader, the leader's status writer, takes what gathered
// since its last take. Null means "any route may have moved": before the first take, and after
// more distinct routes gathered than `limit` without a take (a replica that is not leading never
// takes; the set must not grow with route churn for as long as it follows).
export class MovedRoutes {
  #keys = new Set<string>();
  #all = true;
  readonly #limit: number;

  constructor(limit = 65_536) {
    this.#limit = limit;
  }

  /** Route `Kind/namespace/name` may answer differently now. */
  add(key: string): void {
    if (this.#all) return;
    this.#keys.add(key);
    if (this.#keys.size > this.#limit) this.everything();
  }

  /** Any route may answer differently now. */
  everything(): void {
    this.#all = true;
    this.#keys = new Set();
  }

  /** The routes added since the last take, or null when any may have moved. */
  take(): ReadonlySet<string> | null {
    if (this.#all) {
      this.#all = false;
      return null;
    }
    const out = this.#keys;
    this.#keys = new Set();
    return out;
  }
}
