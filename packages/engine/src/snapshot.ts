import { createHash } from "node:crypto";
import type { KycState, ReasonCode, Role, Side, StockRow, TimeInForce } from "@stockroom/contracts";
import { Book, type Order } from "./book.ts";
import { LocalClock } from "./clock.ts";
import { type Account, type Hold, type OutletConfig, orderView, type State } from "./state.ts";

export const SNAPSHOT_VERSION = 1;

/**
 * The whole engine state as plain JSON, in a canonical order (products and accounts by id,
 * orders in book order, holds active-then-finished), so equal states serialise to equal bytes.
 */
export interface EngineSnapshot {
  version: typeof SNAPSHOT_VERSION;
  lastTs: number;
  nextOrderId: number;
  nextExecId: number;
  holdPlacements: number;
  config: OutletConfig;
  products: {
    sku: string;
    name: string;
    brand: string;
    attributes: Record<string, string | number | boolean>;
    listed: boolean;
  }[];
  accounts: {
    accountId: string;
    role: Role;
    name: string;
    kyc: KycState;
    balance: number;
    reserved: number;
    /** [brand, trading day, units] by brand, then day. */
    daily: [string, number, number][];
  }[];
  /** Resting orders in book order (per sku: inflow best first, then outflow), then any in flight. */
  orders: {
    orderId: number;
    accountId: string;
    sku: string;
    side: Side;
    price: number;
    quantity: number;
    remaining: number;
    held: number;
    timeInForce: TimeInForce;
    reason: ReasonCode;
    reference: string | null;
    resting: boolean;
  }[];
  holds: Hold[];
}

export function takeSnapshot(s: State, restingOrders: (book: Book) => Iterable<Order>): EngineSnapshot {
  const products = [...s.products.values()].sort((a, b) => compare(a.sku, b.sku));
  const orders: EngineSnapshot["orders"] = [];
  const pushOrder = (o: Order) => orders.push({ ...orderView(o), resting: o.level !== null });
  for (const p of products) for (const o of restingOrders(p.book)) pushOrder(o);
  const inFlight = [...s.orders.values()].filter((o) => o.level === null).sort((a, b) => a.id - b.id);
  for (const o of inFlight) pushOrder(o);
  return {
    version: SNAPSHOT_VERSION,
    lastTs: s.lastTs,
    nextOrderId: s.nextOrderId,
    nextExecId: s.nextExecId,
    holdPlacements: s.holdPlacements,
    config: s.config,
    products: products.map((p) => ({
      sku: p.sku,
      name: p.name,
      brand: p.brand,
      attributes: p.attributes,
      listed: p.listed,
    })),
    accounts: [...s.accounts.values()]
      .sort((a, b) => compare(a.accountId, b.accountId))
      .map((a) => ({
        accountId: a.accountId,
        role: a.role,
        name: a.name,
        kyc: a.kyc,
        balance: a.balance,
        reserved: a.reserved,
        daily: [...a.daily.entries()]
          .sort(([x], [y]) => compare(x, y))
          .flatMap(([brand, d]) => [
            ...d.earlier.map(([day, used]): [string, number, number] => [brand, day, used]),
            [brand, d.day, d.used] as [string, number, number],
          ]),
      })),
    orders,
    holds: [...s.activeHolds, ...s.finishedHolds()].map((h) => ({ ...h })),
  };
}

export function restoreInto(s: State, snap: EngineSnapshot): void {
  if (snap.version !== SNAPSHOT_VERSION) throw new Error(`unsupported snapshot version ${snap.version}`);
  s.lastTs = snap.lastTs;
  s.nextOrderId = snap.nextOrderId;
  s.nextExecId = snap.nextExecId;
  s.holdPlacements = snap.holdPlacements;
  s.config = snap.config;
  s.clock = new LocalClock(snap.config.timezone, snap.config.tradingHours);
  // Objects are built field by field in the same order as `State.apply` builds them, so restored
  // and live ones share hidden classes and the hot paths stay monomorphic.
  for (const p of snap.products) {
    s.products.set(p.sku, {
      sku: p.sku,
      name: p.name,
      brand: p.brand,
      attributes: p.attributes,
      listed: p.listed,
      book: new Book(p.sku),
      brandNo: s.brandNo(p.brand),
    });
  }
  for (const a of snap.accounts) {
    // Rows of one brand come oldest day first; the last is its latest day.
    const daily = new Map<string, { day: number; used: number; earlier: [number, number][] }>();
    for (const [brand, day, used] of a.daily) {
      const latest = daily.get(brand);
      if (latest) latest.earlier.push([latest.day, latest.used]);
      daily.set(brand, { day, used, earlier: latest?.earlier ?? [] });
    }
    const dailyByBrand: Account["dailyByBrand"] = [];
    for (const [brand, units] of daily) dailyByBrand[s.brandNo(brand)] = units;
    s.accounts.set(a.accountId, {
      accountId: a.accountId,
      role: a.role,
      name: a.name,
      kyc: a.kyc,
      balance: a.balance,
      reserved: a.reserved,
      daily,
      dailyByBrand,
    });
  }
  for (const o of snap.orders) {
    const bookSide = s.products.get(o.sku)!.book.sideOf(o.side);
    const order: Order = {
      id: o.orderId,
      accountId: o.accountId,
      account: s.accounts.get(o.accountId)!,
      sku: o.sku,
      side: o.side,
      price: o.price,
      quantity: o.quantity,
      remaining: o.remaining,
      held: o.held,
      timeInForce: o.timeInForce,
      reason: o.reason,
      reference: o.reference,
      bookSide,
      level: null,
      prev: null,
      next: null,
    };
    s.orders.set(o.orderId, order);
    if (o.resting) bookSide.append(order);
  }
  const finished: Hold[] = [];
  for (const h of snap.holds) {
    const hold: Hold = { ...h };
    s.holds.set(hold.holdId, hold);
    if (hold.status === "active") {
      s.activeHolds.add(hold);
      s.expiries.push(hold);
    } else finished.push(hold);
  }
  s.rememberFinished(finished);
}

/**
 * sha256 of the snapshot's JSON, fed item by item so a state with millions of holds never becomes
 * one giant string. The snapshot's order is canonical (see above) and its objects are built with
 * fixed key order, so equal states give equal digests.
 */
export function digestOf(snap: EngineSnapshot): string {
  const hash = createHash("sha256");
  const { products, accounts, orders, holds, ...scalars } = snap;
  hash.update(JSON.stringify(scalars));
  for (const list of [products, accounts, orders, holds]) {
    hash.update(`\n${list.length}`);
    for (const item of list) hash.update(JSON.stringify(item));
  }
  return hash.digest("hex");
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** sha256 of a checkpoint's stock rows: what HQ compares to decide an outlet is in sync. */
export function stockDigest(stock: StockRow[]): string {
  return createHash("sha256").update(JSON.stringify(stock)).digest("hex");
}
