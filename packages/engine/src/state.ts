import type {
  EngineEvent,
  EventOf,
  HoldAllocation,
  KycState,
  ReasonCode,
  Role,
  StockRow,
  TradingHours,
} from "@stockroom/contracts";
import { Book, type BookSide, type Order } from "./book.ts";
import { LocalClock } from "./clock.ts";
import { ExpiryQueue } from "./expiry-queue.ts";
import { OrderIndex } from "./order-index.ts";

/** How long a finished hold's id is remembered, so retries of place/confirm/cancel answer the same. */
export const HOLD_MEMORY_MS = 24 * 3_600_000;

export interface OutletConfig {
  timezone: string;
  tradingHours: TradingHours | null;
  defaultDailyLimit: number;
  brandLimits: Record<string, number>;
}

export interface Product {
  sku: string;
  name: string;
  brand: string;
  attributes: Record<string, string | number | boolean>;
  listed: boolean;
  book: Book;
  /** `brand` as a small number (State.brandNo), so per-order risk checks index arrays, not hash strings. */
  brandNo: number;
}

/**
 * Units an account moved for one brand, by trading day: the latest day, plus up to two days
 * before it, since a timezone change can move the local date back that far (UTC+14 to UTC-12).
 */
interface DailyUnits {
  day: number;
  used: number;
  earlier: [day: number, used: number][];
}

export interface Account {
  readonly accountId: string;
  readonly role: Role;
  readonly name: string;
  kyc: KycState;
  balance: number;
  reserved: number;
  readonly daily: Map<string, DailyUnits>;
  /** The entries of `daily` again, by brand number: the per-order lookup. */
  readonly dailyByBrand: (DailyUnits | undefined)[];
}

export interface Hold {
  readonly holdId: string;
  readonly accountId: string;
  readonly placement: number;
  expiresAt: number;
  readonly reason: ReasonCode;
  readonly reference: string | null;
  readonly lines: EventOf<"hold.placed">["lines"];
  readonly allocations: HoldAllocation[];
  readonly amount: number;
  status: "active" | "confirmed" | "released";
  finishedAt: number;
}

const DEFAULT_CONFIG: OutletConfig = {
  timezone: "UTC",
  tradingHours: null,
  defaultDailyLimit: 1_000_000,
  brandLimits: {},
};

/**
 * The engine's state and the one way it changes: `apply(event, ts)`. Live execution and replay
 * both go through here, which is what makes a replay exact.
 */
export class State {
  config: OutletConfig = DEFAULT_CONFIG;
  clock = new LocalClock("UTC", null);
  lastTs = 0;
  nextOrderId = 1;
  nextExecId = 1;
  holdPlacements = 0;
  readonly products = new Map<string, Product>();
  readonly accounts = new Map<string, Account>();
  readonly orders = new OrderIndex();
  /** Active and remembered holds by id. */
  readonly holds = new Map<string, Hold>();
  /** Active holds in placement order. */
  readonly activeHolds = new Set<Hold>();
  readonly expiries = new ExpiryQueue<Hold>();
  /** Finished holds in the order they finished (so by finishedAt), forgotten from the front. */
  protected finished: Hold[] = [];
  protected finishedHead = 0;
  /** Brand -> small number, assigned on first sight; derived state, not in snapshots. */
  private readonly brandNos = new Map<string, number>();
  /** Daily limits by brand number, from the config object `limitsOf` (a new config, as every change makes, resets them). */
  private limits: number[] = [];
  private limitsOf: OutletConfig | null = null;

  apply(e: EngineEvent, ts: number): void {
    const now = this.advance(ts);
    switch (e.type) {
      case "execution":
        return this.applyExecution(
          e,
          this.orders.get(e.inflowOrderId)!,
          e.outflowOrderId === null ? null : this.orders.get(e.outflowOrderId)!,
          this.accounts.get(e.inflowAccountId)!,
          this.accounts.get(e.outflowAccountId)!,
        );
      case "order.accepted": {
        const order = this.applyAccepted(e, this.products.get(e.sku)!, this.accounts.get(e.accountId)!, now);
        this.orders.set(order.id, order);
        return;
      }
      case "order.rested":
        return this.applyRested(this.orders.get(e.orderId)!);
      case "order.cancelled": {
        const order = this.orders.get(e.orderId)!;
        this.applyCancelled(order);
        this.orders.delete(order.id);
        return;
      }
      case "order.reduced": {
        const order = this.orders.get(e.orderId)!;
        if (order.side === "outflow") this.accounts.get(order.accountId)!.reserved -= order.price * e.by;
        order.bookSide.adjustRemaining(order, -e.by);
        return;
      }
      case "order.replaced": {
        const order = this.orders.get(e.orderId)!;
        if (order.level) order.bookSide.unlink(order);
        const account = this.accounts.get(order.accountId)!;
        if (order.side === "outflow") account.reserved += e.price * e.quantity - order.price * order.remaining;
        if (e.quantity > order.remaining) {
          this.addDailyUnits(account, this.products.get(order.sku)!, e.quantity - order.remaining, now);
        }
        order.quantity += e.quantity - order.remaining;
        order.price = e.price;
        order.remaining = e.quantity;
        return;
      }
      case "hold.placed":
        return this.applyHoldPlaced(e, now);
      case "hold.extended": {
        const hold = this.holds.get(e.holdId)!;
        hold.expiresAt = e.expiresAt;
        this.expiries.push(hold);
        return;
      }
      case "hold.confirmed":
        return this.finishHold(this.holds.get(e.holdId)!, "confirmed", now);
      case "hold.released": {
        const hold = this.holds.get(e.holdId)!;
        for (const a of hold.allocations) {
          const order = this.orders.get(a.orderId)!;
          order.bookSide.adjustHeld(order, -a.quantity);
        }
        this.accounts.get(hold.accountId)!.reserved -= hold.amount;
        return this.finishHold(hold, "released", now);
      }
      case "product.added": {
        const existing = this.products.get(e.sku);
        this.products.set(e.sku, {
          sku: e.sku,
          name: e.name,
          brand: e.brand,
          attributes: e.attributes,
          listed: true,
          book: existing?.book ?? new Book(e.sku),
          brandNo: this.brandNo(e.brand),
        });
        return;
      }
      case "product.updated": {
        const product = this.products.get(e.sku)!;
        product.name = e.name;
        product.brand = e.brand;
        product.brandNo = this.brandNo(e.brand);
        product.attributes = e.attributes;
        return;
      }
      case "product.removed":
        this.products.get(e.sku)!.listed = false;
        return;
      case "account.created":
        this.accounts.set(e.accountId, {
          accountId: e.accountId,
          role: e.role,
          name: e.name,
          kyc: "pending",
          balance: 0,
          reserved: 0,
          daily: new Map(),
          dailyByBrand: [],
        });
        return;
      case "account.kyc_changed":
        this.accounts.get(e.accountId)!.kyc = e.kyc;
        return;
      case "wallet.deposited":
        this.accounts.get(e.accountId)!.balance += e.amount;
        return;
      case "wallet.withdrawn":
        this.accounts.get(e.accountId)!.balance -= e.amount;
        return;
      case "outlet.configured":
        this.config = {
          timezone: e.timezone,
          tradingHours: e.tradingHours,
          defaultDailyLimit: e.defaultDailyLimit,
          brandLimits: e.brandLimits,
        };
        this.clock = new LocalClock(e.timezone, e.tradingHours);
        return;
      case "command.rejected":
      case "outlet.checkpoint":
        return;
    }
  }

  /**
   * What `apply` does before any event: time moves on, and remembered holds past their memory
   * are forgotten. Returns `now`. The engine's fast paths below call it and then the same
   * per-event code as `apply`, with the objects it already holds instead of looking them up.
   */
  protected advance(ts: number): number {
    if (ts > this.lastTs) this.lastTs = ts;
    const now = this.lastTs;
    if (this.finishedHead < this.finished.length) this.forgetFinishedHolds(now);
    return now;
  }

  /**
   * `order.accepted` except indexing the order in `orders` (the caller does), which the engine
   * leaves until the order rests: most incoming orders never do, and are gone by the command's end.
   */
  protected applyAccepted(e: EventOf<"order.accepted">, product: Product, account: Account, now: number): Order {
    const bookSide = product.book.sideOf(e.side);
    const order: Order = {
      id: e.orderId,
      accountId: e.accountId,
      account,
      sku: e.sku,
      side: e.side,
      price: e.price,
      quantity: e.quantity,
      remaining: e.quantity,
      held: 0,
      timeInForce: e.timeInForce,
      reason: e.reason,
      reference: e.reference,
      bookSide,
      level: null,
      prev: null,
      next: null,
    };
    this.nextOrderId = e.orderId + 1;
    if (!bookSide.isInflow) account.reserved += e.price * e.quantity;
    this.addDailyUnits(account, product, e.quantity, now);
    return order;
  }

  protected applyRested(order: Order): void {
    order.bookSide.append(order);
  }

  /** `order.cancelled` except dropping the order from `orders` (the caller does, if it was there). */
  protected applyCancelled(order: Order): void {
    if (order.level) order.bookSide.unlink(order);
    if (!order.bookSide.isInflow) order.account.reserved -= order.price * order.remaining;
  }

  // Queries: plain objects, safe to hand out.

  stock(sku: string): StockView | null {
    const product = this.products.get(sku);
    if (!product) return null;
    const { inflow, outflow } = product.book;
    return {
      sku,
      available: inflow.remaining - inflow.held,
      held: inflow.held,
      onHand: inflow.remaining,
      demand: outflow.remaining,
    };
  }

  /** Every product's stock, sorted by sku: the content of a checkpoint. */
  stockRows(): StockRow[] {
    const rows: StockRow[] = [];
    for (const p of this.products.values()) {
      const { inflow, outflow } = p.book;
      rows.push([p.sku, inflow.remaining - inflow.held, inflow.held, inflow.remaining, outflow.remaining]);
    }
    return rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  depth(sku: string, levels = Number.POSITIVE_INFINITY): DepthView | null {
    const product = this.products.get(sku);
    if (!product) return null;
    const side = (s: BookSide): DepthLevel[] => {
      const out: DepthLevel[] = [];
      for (let i = s.levels.length - 1; i >= 0 && out.length < levels; i--) {
        const l = s.levels[i]!;
        out.push({ price: l.price, quantity: l.remaining, held: l.held, orders: l.orders });
      }
      return out;
    };
    return { sku, inflow: side(product.book.inflow), outflow: side(product.book.outflow) };
  }

  account(accountId: string): AccountView | null {
    const a = this.accounts.get(accountId);
    if (!a) return null;
    return { accountId, role: a.role, name: a.name, kyc: a.kyc, balance: a.balance, reserved: a.reserved };
  }

  product(sku: string): ProductView | null {
    const p = this.products.get(sku);
    return p ? productView(p) : null;
  }

  listProducts(): ProductView[] {
    return [...this.products.values()].map(productView);
  }

  order(orderId: number): OrderView | null {
    const o = this.orders.get(orderId);
    return o ? orderView(o) : null;
  }

  ordersOf(accountId: string): OrderView[] {
    const out: OrderView[] = [];
    for (const o of this.orders.values()) if (o.accountId === accountId && o.level) out.push(orderView(o));
    return out.sort((a, b) => a.orderId - b.orderId);
  }

  hold(holdId: string): HoldView | null {
    const h = this.holds.get(holdId);
    return h ? holdView(h) : null;
  }

  /** The sequenced time a remembered hold was confirmed or released (null while active or unknown). */
  holdFinishedAt(holdId: string): number | null {
    const h = this.holds.get(holdId);
    return h && h.status !== "active" ? h.finishedAt : null;
  }

  holdsOf(accountId: string): HoldView[] {
    const out: HoldView[] = [];
    for (const h of this.activeHolds) if (h.accountId === accountId) out.push(holdView(h));
    return out;
  }

  /** The small number standing for `brand` (see Product.brandNo). */
  brandNo(brand: string): number {
    let n = this.brandNos.get(brand);
    if (n === undefined) {
      n = this.brandNos.size;
      this.brandNos.set(brand, n);
    }
    return n;
  }

  dailyLimit(brand: string): number {
    return this.config.brandLimits[brand] ?? this.config.defaultDailyLimit;
  }

  /** `dailyLimit(product.brand)`, cached by brand number for the current config. */
  productDailyLimit(product: Product): number {
    if (this.limitsOf !== this.config) {
      this.limits = [];
      this.limitsOf = this.config;
    }
    let limit = this.limits[product.brandNo];
    if (limit === undefined) {
      limit = this.dailyLimit(product.brand);
      this.limits[product.brandNo] = limit;
    }
    return limit;
  }

  dailyUnits(account: Account, brand: string, now: number): number {
    // Every brand with units has a number (they are counted through a product, or restored).
    const n = this.brandNos.get(brand);
    return n === undefined ? 0 : this.unitsOn(account.dailyByBrand[n], now);
  }

  /** `dailyUnits(account, product.brand, now)` without hashing the brand. */
  productDailyUnits(account: Account, product: Product, now: number): number {
    return this.unitsOn(account.dailyByBrand[product.brandNo], now);
  }

  private unitsOn(units: DailyUnits | undefined, now: number): number {
    if (units === undefined) return 0;
    const day = this.clock.day(now);
    if (units.day === day) return units.used;
    return units.earlier.find(([d]) => d === day)?.[1] ?? 0;
  }

  private addDailyUnits(account: Account, product: Product, quantity: number, now: number): void {
    const day = this.clock.day(now);
    const units = account.dailyByBrand[product.brandNo];
    if (units === undefined) {
      const fresh: DailyUnits = { day, used: quantity, earlier: [] };
      account.daily.set(product.brand, fresh);
      account.dailyByBrand[product.brandNo] = fresh;
    } else if (units.day === day) units.used += quantity;
    else if (units.day < day) {
      units.earlier.push([units.day, units.used]);
      units.earlier = units.earlier.filter(([d]) => d >= day - 2);
      units.day = day;
      units.used = quantity;
    } else {
      const entry = units.earlier.find(([d]) => d === day);
      if (entry) entry[1] += quantity;
      else if (day >= units.day - 2) {
        units.earlier.push([day, quantity]);
        units.earlier.sort((a, b) => a[0] - b[0]);
      }
    }
  }

  /**
   * `execution`: `inflow` and `outflow` are the orders it names (no outflow order for a hold's),
   * `seller` and `buyer` the accounts it names.
   */
  protected applyExecution(
    e: EventOf<"execution">,
    inflow: Order,
    outflow: Order | null,
    seller: Account,
    buyer: Account,
  ): void {
    const value = e.price * e.quantity;
    seller.balance += value;
    buyer.balance -= value;
    if (outflow === null) {
      // A hold's confirmation: the units were held on the inflow and the value reserved.
      buyer.reserved -= value;
      inflow.bookSide.adjustHeld(inflow, -e.quantity);
    } else {
      buyer.reserved -= outflow.price * e.quantity;
      this.fill(outflow, e.quantity);
    }
    this.fill(inflow, e.quantity);
    this.nextExecId = e.execId + 1;
  }

  private fill(order: Order, quantity: number): void {
    if (order.level) order.bookSide.adjustRemaining(order, -quantity);
    else order.remaining -= quantity;
    if (order.remaining === 0) this.orders.delete(order.id);
  }

  private applyHoldPlaced(e: EventOf<"hold.placed">, now: number): void {
    const hold: Hold = {
      holdId: e.holdId,
      accountId: e.accountId,
      placement: ++this.holdPlacements,
      expiresAt: e.expiresAt,
      reason: e.reason,
      reference: e.reference,
      lines: e.lines,
      allocations: e.allocations,
      amount: e.amount,
      status: "active",
      finishedAt: 0,
    };
    this.holds.set(hold.holdId, hold);
    this.activeHolds.add(hold);
    this.expiries.push(hold);
    for (const a of e.allocations) {
      const order = this.orders.get(a.orderId)!;
      order.bookSide.adjustHeld(order, a.quantity);
    }
    const account = this.accounts.get(e.accountId)!;
    account.reserved += e.amount;
    for (const line of e.lines) this.addDailyUnits(account, this.products.get(line.sku)!, line.quantity, now);
  }

  private finishHold(hold: Hold, status: "confirmed" | "released", now: number): void {
    hold.status = status;
    hold.finishedAt = now;
    this.activeHolds.delete(hold);
    this.finished.push(hold);
  }

  finishedHolds(): Hold[] {
    return this.finished.slice(this.finishedHead);
  }

  /** Restore: finished holds in the order they finished. */
  rememberFinished(holds: Hold[]): void {
    this.finished = holds;
    this.finishedHead = 0;
  }

  private forgetFinishedHolds(now: number): void {
    const finished = this.finished;
    let head = this.finishedHead;
    while (head < finished.length && finished[head]!.finishedAt + HOLD_MEMORY_MS <= now) {
      const hold = finished[head++]!;
      if (this.holds.get(hold.holdId) === hold) this.holds.delete(hold.holdId);
    }
    // Compact once the forgotten prefix dominates, keeping memory bounded.
    if (head > 1024 && head * 2 > finished.length) {
      this.finished = finished.slice(head);
      head = 0;
    }
    this.finishedHead = head;
  }
}

export interface StockView {
  sku: string;
  available: number;
  held: number;
  onHand: number;
  demand: number;
}
export interface DepthLevel {
  price: number;
  /** Remaining units at this price, held ones included. */
  quantity: number;
  held: number;
  orders: number;
}
export interface DepthView {
  sku: string;
  /** Lowest price first. */
  inflow: DepthLevel[];
  /** Highest price first. */
  outflow: DepthLevel[];
}
export interface AccountView {
  accountId: string;
  role: Role;
  name: string;
  kyc: KycState;
  balance: number;
  reserved: number;
}
export type ProductView = Omit<Product, "book" | "brandNo">;
export type OrderView = Omit<Order, "id" | "account" | "bookSide" | "level" | "prev" | "next"> & { orderId: number };
export type HoldView = Omit<Hold, "placement" | "finishedAt">;

function productView(p: Product): ProductView {
  return { sku: p.sku, name: p.name, brand: p.brand, attributes: p.attributes, listed: p.listed };
}
export function orderView(o: Order): OrderView {
  return {
    orderId: o.id,
    accountId: o.accountId,
    sku: o.sku,
    side: o.side,
    price: o.price,
    quantity: o.quantity,
    remaining: o.remaining,
    held: o.held,
    timeInForce: o.timeInForce,
    reason: o.reason,
    reference: o.reference,
  };
}
function holdView(h: Hold): HoldView {
  return {
    holdId: h.holdId,
    accountId: h.accountId,
    expiresAt: h.expiresAt,
    reason: h.reason,
    reference: h.reference,
    lines: h.lines,
    allocations: h.allocations,
    amount: h.amount,
    status: h.status,
  };
}
