// Which EndpointSlices belong to which Service, followed from one snapshot to the next. The
// endpoint fast path needs the slices of the few Services that changed; finding them by walking
// every slice and spelling its Service's key (10 000 strings per patch at 10 000 Services) was
// most of what a patch still cost after its version went lazy (issue 14). The provider keeps its
// objects in a stable order and hands out the same object while unchanged, so positions are
// followed instead: a new list of the same length is compared slot by slot (pointer comparisons)
// and only replaced slices are looked at; a list that grew or shrank is indexed afresh. A
// Service's slices come out in snapshot order, as Lookup lists them (endpoint order follows it).
import type { KubeObject } from './snapshot.ts';
import { namespaceOf, nsName, str } from './util.ts';

/** The Service (`ns/name`) an EndpointSlice belongs to, or null (Lookup's reading of the label). */
export function sliceOwner(es: KubeObject): string | null {
  const svc = str(es.metadata?.labels?.['kubernetes.io/service-name']);
  return svc ? nsName(namespaceOf(es), svc) : null;
}

export class SlicePositions {
  #list: KubeObject[] | undefined;
  #owners: (string | null)[] = [];
  /** Service → its slices' positions in #list, ascending. */
  #positions = new Map<string, number[]>();
  /** Slices whose owner was read so far (tests: what following a list cost). */
  read = 0;

  /** The slices of `service` in `list`, in list order. */
  slicesOf(list: KubeObject[], service: string): KubeObject[] {
    this.#follow(list);
    return (this.#positions.get(service) ?? []).map((i) => list[i]!);
  }

  #follow(list: KubeObject[]): void {
    const prev = this.#list;
    if (prev === list) return;
    this.#list = list;
    if (!prev || prev.length !== list.length) {
      this.#owners = list.map((es) => this.#owner(es));
      this.#positions = new Map();
      this.#owners.forEach((o, i) => {
        if (o === null) return;
        const at = this.#positions.get(o);
        if (at) at.push(i);
        else this.#positions.set(o, [i]);
      });
      return;
    }
    for (let i = 0; i < list.length; i++) {
      if (prev[i] === list[i]) continue;
      const before = this.#owners[i] ?? null;
      const after = this.#owner(list[i]!);
      if (before === after) continue;
      this.#owners[i] = after;
      if (before !== null) {
        const at = this.#positions.get(before)!.filter((p) => p !== i);
        if (at.length > 0) this.#positions.set(before, at);
        else this.#positions.delete(before);
      }
      if (after !== null) this.#positions.set(after, [...(this.#positions.get(after) ?? []), i].sort((a, b) => a - b));
    }
  }

  #owner(es: KubeObject): string | null {
    this.read++;
    return sliceOwner(es);
  }
}
