import type { ReasonCode, Side, TimeInForce } from "@stockroom/contracts";
import type { Account } from "./state.ts";

/** A live order. While it rests it is a node of its level's FIFO list, so cancel is O(1). */
export interface Order {
  readonly id: number;
  readonly accountId: string;
  /** The account of `accountId` (accounts are never replaced), so fills and cancels skip the lookup. */
  readonly account: Account;
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
 * O(1), and the usual removal (the best level emptied by matching) is a pop. A level is found by
 * binary search: books hold few levels near the touch, and this beat a price -> level Map, whose
 * set/delete ran on most orders (levels come and go as often as orders do).
 */
export class BookSide {
  readonly levels: Level[] = [];
  remaining = 0;
  held = 0;
  /** `side === "inflow"`: a boolean test, not a string comparison, on hot paths. */
  readonly isInflow: boolean;

  /** Inflow's best is its lowest price; outflow's its highest. */
  constructor(readonly side: Side) {
    this.isInflow = side === "inflow";
  }

  best(): Level | undefined {
    return this.levels[this.levels.length - 1];
  }

  /** Does a level at `price` trade with an incoming order at `limit`? */
  crosses(price: number, limit: number): boolean {
    return this.isInflow ? price <= limit : price >= limit;
  }

  append(order: Order): void {
    const levels = this.levels;
    const i = this.insertionIndex(order.price);
    let level = levels[i];
    if (level === undefined || level.price !== order.price) {
      level = { price: order.price, head: null, tail: null, remaining: 0, held: 0, orders: 0 };
      // Shift by hand: splice allocates an array of the removed elements on every call.
      let j = levels.length;
      levels.push(level);
      for (; j > i; j--) levels[j] = levels[j - 1]!;
      levels[i] = level;
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
    const levels = this.levels;
    const last = levels.length - 1;
    if (levels[last] !== level) {
      // Shift the better levels down over it (no splice: see append).
      for (let j = this.insertionIndex(level.price); j < last; j++) levels[j] = levels[j + 1]!;
    }
    levels.pop();
  }

  /** Where `price` goes in the worst-first array: after every strictly worse level. */
  private insertionIndex(price: number): number {
    const levels = this.levels;
    let lo = 0;
    let hi = levels.length;
    if (this.isInflow) {
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (levels[mid]!.price > price) lo = mid + 1;
        else hi = mid;
      }
    } else {
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (levels[mid]!.price < price) lo = mid + 1;
        else hi = mid;
      }
    }
    return lo;
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
