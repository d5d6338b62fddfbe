import type { ReasonCode, Side, TimeInForce } from "@stockroom/contracts";

/** A live order. While it rests it is a node of its level's FIFO list, so cancel is O(1). */
export interface Order {
  readonly id: number;
  readonly accountId: string;
  readonly sku: string;
  readonly side: Side;
  price: number;
  /** Original quantity (grows when a replace asks for more): filled + remaining. */
  quantity: number;
  remaining: number;
  /** Units of `remaining` under holds (inflow only): on hand, not available. */
  held: number;
  readonly timeInForce: TimeInForce;
  readonly reason: ReasonCode;
  readonly reference: string | null;
  /** The side of the book it rests on (or will). */
  readonly bookSide: BookSide;
  level: Level | null;
  prev: Order | null;
  next: Order | null;
}

export interface Level {
  readonly price: number;
  head: Order | null;
  tail: Order | null;
  remaining: number;
  held: number;
  orders: number;
}

/**
 * One side of one sku's book. Levels sit in an array sorted so the best price is last: best is
 * O(1), finding a level O(1) through the map, and the usual removal (the best level emptied by
 * matching) is a pop. Inserting a new price elsewhere shifts the array (O(levels), small).
 */
export class BookSide {
  readonly levels: Level[] = [];
  private readonly byPrice = new Map<number, Level>();
  remaining = 0;
  held = 0;

  /** Inflow's best is its lowest price; outflow's its highest. */
  constructor(readonly side: Side) {}

  best(): Level | undefined {
    return this.levels[this.levels.length - 1];
  }

  /** Does a level at `price` trade with an incoming order at `limit`? */
  crosses(price: number, limit: number): boolean {
    return this.side === "inflow" ? price <= limit : price >= limit;
  }

  append(order: Order): void {
    let level = this.byPrice.get(order.price);
    if (level === undefined) {
      level = { price: order.price, head: null, tail: null, remaining: 0, held: 0, orders: 0 };
      this.byPrice.set(order.price, level);
      this.levels.splice(this.insertionIndex(order.price), 0, level);
    }
    order.level = level;
    order.prev = level.tail;
    order.next = null;
    if (level.tail) level.tail.next = order;
    else level.head = order;
    level.tail = order;
    level.orders++;
    level.remaining += order.remaining;
    level.held += order.held;
    this.remaining += order.remaining;
    this.held += order.held;
  }

  unlink(order: Order): void {
    const level = order.level!;
    if (order.prev) order.prev.next = order.next;
    else level.head = order.next;
    if (order.next) order.next.prev = order.prev;
    else level.tail = order.prev;
    order.level = order.prev = order.next = null;
    level.orders--;
    level.remaining -= order.remaining;
    level.held -= order.held;
    this.remaining -= order.remaining;
    this.held -= order.held;
    if (level.orders === 0) this.removeLevel(level);
  }

  /** A resting order's remaining changed by `delta` (fill, reduce); an emptied order is unlinked. */
  adjustRemaining(order: Order, delta: number): void {
    const level = order.level!;
    order.remaining += delta;
    level.remaining += delta;
    this.remaining += delta;
    if (order.remaining === 0) this.unlink(order);
  }

  adjustHeld(order: Order, delta: number): void {
    order.held += delta;
    order.level!.held += delta;
    this.held += delta;
  }

  private removeLevel(level: Level): void {
    this.byPrice.delete(level.price);
    const last = this.levels.length - 1;
    if (this.levels[last] === level) this.levels.pop();
    else this.levels.splice(this.indexOf(level.price), 1);
  }

  /** Where `price` goes in the worst-first array: after every strictly worse level. */
  private insertionIndex(price: number): number {
    let lo = 0;
    let hi = this.levels.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.worse(this.levels[mid]!.price, price)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private indexOf(price: number): number {
    const i = this.insertionIndex(price);
    return this.levels[i]?.price === price ? i : -1;
  }

  /** Is `a` a worse price than `b` on this side? */
  private worse(a: number, b: number): boolean {
    return this.side === "inflow" ? a > b : a < b;
  }
}

export class Book {
  readonly inflow = new BookSide("inflow");
  readonly outflow = new BookSide("outflow");
  constructor(readonly sku: string) {}

  sideOf(side: Side): BookSide {
    return side === "inflow" ? this.inflow : this.outflow;
  }
}
