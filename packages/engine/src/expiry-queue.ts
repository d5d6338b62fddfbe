/** What the queue needs of a hold: when it expires and its placement number (the tie-break). */
export interface Expiring {
  expiresAt: number;
  readonly placement: number;
  status: "active" | "confirmed" | "released";
}

interface Entry<T> {
  readonly expiresAt: number;
  readonly placement: number;
  readonly item: T;
}

/**
 * Active holds by (expiresAt, placement) in a binary min-heap. Entries go stale when a hold
 * ends or is extended; they are dropped when they reach the top, so no search is needed.
 */
export class ExpiryQueue<T extends Expiring> {
  private readonly heap: Entry<T>[] = [];

  push(item: T): void {
    const heap = this.heap;
    const entry: Entry<T> = { expiresAt: item.expiresAt, placement: item.placement, item };
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  /** The next active item due at or before `now`, removed from the queue; else undefined. */
  popDue(now: number): T | undefined {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined) return undefined;
      const live = top.item.status === "active" && top.item.expiresAt === top.expiresAt;
      if (live && top.expiresAt > now) return undefined;
      this.popTop();
      if (live) return top.item;
    }
  }

  private popTop(): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const r = l + 1;
      const child = r < heap.length && before(heap[r]!, heap[l]!) ? r : l;
      if (!before(heap[child]!, last)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = last;
  }
}

function before(a: Entry<unknown>, b: Entry<unknown>): boolean {
  return a.expiresAt < b.expiresAt || (a.expiresAt === b.expiresAt && a.placement < b.placement);
}
