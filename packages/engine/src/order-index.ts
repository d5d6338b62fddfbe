import type { Order } from "./book.ts";

/** Ids per page: a page costs 4 KB of slots and is dropped once its orders are all gone. */
const PAGE_SIZE = 1024;

interface Page {
  readonly slots: (Order | undefined)[];
  live: number;
}

/**
 * Live orders by id, with the part of the Map API the engine and its readers use. Order ids are
 * handed out 1, 2, 3, …, so they index pages of slots directly: no hashing, and none of a Map's
 * rehashing, which every order paid for as it was added and removed. Iterates in id order.
 */
export class OrderIndex {
  /** Page `k` holds ids from `k * PAGE_SIZE` up to the next page's; undefined once empty. */
  private readonly pages: (Page | undefined)[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(id: number): Order | undefined {
    const page = this.pages[Math.floor(id / PAGE_SIZE)];
    return page === undefined ? undefined : page.slots[id % PAGE_SIZE];
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  set(id: number, order: Order): this {
    const k = Math.floor(id / PAGE_SIZE);
    const pages = this.pages;
    // Grow one page at a time so the array keeps fast elements (a far store would make it sparse).
    while (pages.length <= k) pages.push(undefined);
    let page = pages[k];
    if (page === undefined) {
      page = { slots: new Array<Order | undefined>(PAGE_SIZE).fill(undefined), live: 0 };
      pages[k] = page;
    }
    const i = id % PAGE_SIZE;
    if (page.slots[i] === undefined) {
      page.live++;
      this.count++;
    }
    page.slots[i] = order;
    return this;
  }

  delete(id: number): boolean {
    const k = Math.floor(id / PAGE_SIZE);
    const page = this.pages[k];
    if (page === undefined) return false;
    const i = id % PAGE_SIZE;
    if (page.slots[i] === undefined) return false;
    page.slots[i] = undefined;
    this.count--;
    // The last page is kept: new ids land there, and it would be dropped and made again often.
    if (--page.live === 0 && k < this.pages.length - 1) this.pages[k] = undefined;
    return true;
  }

  *values(): IterableIterator<Order> {
    for (const page of this.pages) {
      if (page === undefined) continue;
      for (const order of page.slots) if (order !== undefined) yield order;
    }
  }

  *keys(): IterableIterator<number> {
    for (const order of this.values()) yield order.id;
  }

  *entries(): IterableIterator<[number, Order]> {
    for (const order of this.values()) yield [order.id, order];
  }

  [Symbol.iterator](): IterableIterator<[number, Order]> {
    return this.entries();
  }
}
