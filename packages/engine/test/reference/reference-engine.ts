/**
 * A deliberately plain reference engine, written straight from docs/engine.md and nothing else.
 *
 * It favours "obviously right" over fast: state is a handful of arrays, every question is a
 * linear scan, and `execute` works one event at a time — it decides the next event from the
 * current state, applies it through `apply`, then looks again. That makes "execute = fold of its
 * own events" true by construction, and the matching loop reads like the prose in the docs.
 */
import { createHash } from "node:crypto";
import {
  type Command,
  type CommandOf,
  type EngineEvent,
  type EventOf,
  type HoldAllocation,
  type KycState,
  MAX_AMOUNT,
  PRIVILEGED_ROLES,
  REJECT_MESSAGES,
  type ReasonCode,
  type RejectReason,
  type Role,
  type Side,
  type StockRow,
  type TimeInForce,
  type TradingHours,
} from "@stockroom/contracts";

/** Finished holds are remembered this long (sequenced time) for idempotent retries. */
const HOLD_MEMORY_MS = 24 * 3_600_000;

interface RefConfig {
  timezone: string;
  tradingHours: TradingHours | null;
  defaultDailyLimit: number;
  brandLimits: Record<string, number>;
}

interface RefProduct {
  sku: string;
  name: string;
  brand: string;
  attributes: Record<string, string | number | boolean>;
  listed: boolean;
}

interface RefAccount {
  accountId: string;
  role: Role;
  name: string;
  kyc: KycState;
  balance: number;
  reserved: number;
}

/** A live order: accepted and not yet gone (in flight while it matches, then resting). */
interface RefOrder {
  orderId: number;
  accountId: string;
  sku: string;
  side: Side;
  price: number;
  remaining: number;
  timeInForce: TimeInForce;
  reason: ReasonCode;
  reference: string | null;
  resting: boolean;
  /** When it joined its level; FIFO order inside a level. Reduce keeps it, replace renews it. */
  queuePosition: number;
}

interface RefHold {
  holdId: string;
  accountId: string;
  placement: number;
  expiresAt: number;
  allocations: HoldAllocation[];
  /** Units of each allocation still held (confirmation executes them one by one). */
  stillHeld: number[];
  amount: number;
  status: "active" | "confirmed" | "released";
  finishedAt: number;
}

/** Units one account moved for one brand on one trading day (counts towards the daily limit). */
interface DailyUnits {
  accountId: string;
  brand: string;
  day: string;
  units: number;
}

export interface RefStock {
  sku: string;
  available: number;
  held: number;
  onHand: number;
  demand: number;
}
export interface RefDepthLevel {
  price: number;
  quantity: number;
  held: number;
  orders: number;
}
export interface RefDepth {
  sku: string;
  inflow: RefDepthLevel[];
  outflow: RefDepthLevel[];
}
export interface RefAccountView {
  accountId: string;
  role: Role;
  name: string;
  kyc: KycState;
  balance: number;
  reserved: number;
}

export interface RefOrderView {
  orderId: number;
  accountId: string;
  sku: string;
  side: Side;
  price: number;
  remaining: number;
  held: number;
}

export class ReferenceEngine {
  private config: RefConfig = { timezone: "UTC", tradingHours: null, defaultDailyLimit: 1_000_000, brandLimits: {} };
  private products: RefProduct[] = [];
  private accounts: RefAccount[] = [];
  private orders: RefOrder[] = [];
  /** Active holds and finished ones still remembered. */
  private holds: RefHold[] = [];
  private dailyUnits: DailyUnits[] = [];
  private lastTs = 0;
  private nextOrderId = 1;
  private nextExecId = 1;
  private nextHoldPlacement = 1;
  private nextQueuePosition = 1;

  // ---------------------------------------------------------------------------------------
  // Commands
  // ---------------------------------------------------------------------------------------

  execute(command: Command, ts: number): EngineEvent[] {
    const events: EngineEvent[] = [];
    const emit = (event: EngineEvent): void => {
      this.apply(event, ts);
      events.push(event);
    };
    const reject = (reason: RejectReason): EngineEvent[] => {
      emit({ type: "command.rejected", reason, message: REJECT_MESSAGES[reason], command });
      return events;
    };
    const now = Math.max(ts, this.lastTs);

    // Expiries come first, whatever the command.
    const due = this.holds
      .filter((h) => h.status === "active" && h.expiresAt <= now)
      .sort((a, b) => a.expiresAt - b.expiresAt || a.placement - b.placement);
    for (const hold of due) {
      emit({ type: "hold.released", holdId: hold.holdId, reason: "expired" });
      this.uncrossAfterRelease(hold, emit);
    }

    const c = command;
    switch (c.type) {
      case "outlet.configure":
        emit({
          type: "outlet.configured",
          timezone: c.timezone,
          tradingHours: c.tradingHours,
          defaultDailyLimit: c.defaultDailyLimit,
          brandLimits: c.brandLimits,
        });
        return events;

      case "product.add": {
        if (this.product(c.sku)?.listed) return reject("sku_exists");
        emit({ type: "product.added", sku: c.sku, name: c.name, brand: c.brand, attributes: c.attributes });
        return events;
      }

      case "product.update": {
        const problem = this.productProblem(c.sku);
        if (problem) return reject(problem);
        const p = this.product(c.sku)!;
        emit({
          type: "product.updated",
          sku: p.sku,
          name: c.name ?? p.name,
          brand: c.brand ?? p.brand,
          attributes: c.attributes ?? p.attributes,
        });
        return events;
      }

      case "product.remove": {
        const problem = this.productProblem(c.sku);
        if (problem) return reject(problem);
        for (const hold of this.activeHoldsInPlacementOrder()) {
          if (hold.allocations.some((a) => a.sku === c.sku)) {
            emit({ type: "hold.released", holdId: hold.holdId, reason: "delisted" });
            this.uncrossAfterRelease(hold, emit, c.sku);
          }
        }
        for (const order of [...this.bookOrders(c.sku, "inflow"), ...this.bookOrders(c.sku, "outflow")]) {
          emit(cancelledEvent(order, order.remaining, "delisted"));
        }
        emit({ type: "product.removed", sku: c.sku });
        return events;
      }

      case "account.create":
        if (this.findAccount(c.accountId)) return reject("account_exists");
        emit({ type: "account.created", accountId: c.accountId, role: c.role, name: c.name });
        return events;

      case "account.kyc":
        if (!this.findAccount(c.accountId)) return reject("unknown_account");
        emit({ type: "account.kyc_changed", accountId: c.accountId, kyc: c.kyc });
        return events;

      case "wallet.deposit": {
        const account = this.findAccount(c.accountId);
        if (!account) return reject("unknown_account");
        if (account.balance + c.amount > MAX_AMOUNT) return reject("amount_too_large");
        emit({ type: "wallet.deposited", accountId: c.accountId, amount: c.amount });
        return events;
      }

      case "wallet.withdraw": {
        const account = this.findAccount(c.accountId);
        if (!account) return reject("unknown_account");
        if (c.amount > account.balance - account.reserved) return reject("insufficient_funds");
        emit({ type: "wallet.withdrawn", accountId: c.accountId, amount: c.amount });
        return events;
      }

      case "order.place":
        return this.placeOrder(c, now, emit, reject, events);

      case "order.cancel": {
        if (!this.findAccount(c.accountId)) return reject("unknown_account");
        const order = this.restingOrder(c.orderId);
        if (!order) return reject("unknown_order");
        if (!this.actsFor(c.accountId, order.accountId)) return reject("not_order_owner");
        if (this.heldOn(order) > 0) return reject("order_held");
        emit(cancelledEvent(order, order.remaining, "requested"));
        return events;
      }

      case "order.reduce": {
        if (!this.findAccount(c.accountId)) return reject("unknown_account");
        const order = this.restingOrder(c.orderId);
        if (!order) return reject("unknown_order");
        if (!this.actsFor(c.accountId, order.accountId)) return reject("not_order_owner");
        if (c.by >= order.remaining) return reject("invalid_quantity");
        if (order.remaining - c.by < this.heldOn(order)) return reject("order_held");
        emit({
          type: "order.reduced",
          orderId: order.orderId,
          sku: order.sku,
          side: order.side,
          price: order.price,
          by: c.by,
          remaining: order.remaining - c.by,
        });
        return events;
      }

      case "order.replace":
        return this.replaceOrder(c, now, emit, reject, events);

      case "hold.place":
        return this.placeHold(c, now, emit, reject, events);

      case "hold.extend": {
        if (!this.findAccount(c.accountId)) return reject("unknown_account");
        const hold = this.findHold(c.holdId);
        if (!hold) return reject("unknown_hold");
        if (!this.actsFor(c.accountId, hold.accountId)) return reject("not_hold_owner");
        if (hold.status !== "active") return reject("hold_not_active");
        emit({ type: "hold.extended", holdId: hold.holdId, expiresAt: Math.max(hold.expiresAt, now + c.ttlMs) });
        return events;
      }

      case "hold.confirm": {
        if (!this.findAccount(c.accountId)) return reject("unknown_account");
        const hold = this.findHold(c.holdId);
        if (!hold) return reject("unknown_hold");
        if (!this.actsFor(c.accountId, hold.accountId)) return reject("not_hold_owner");
        if (hold.status === "confirmed") return events; // an idempotent repeat
        if (hold.status === "released") return reject("hold_not_active");
        for (const allocation of [...hold.allocations]) {
          const inflow = this.findOrder(allocation.orderId)!;
          emit({
            type: "execution",
            execId: this.nextExecId,
            sku: allocation.sku,
            price: allocation.price,
            quantity: allocation.quantity,
            inflowOrderId: allocation.orderId,
            inflowAccountId: inflow.accountId,
            outflowOrderId: null,
            outflowAccountId: hold.accountId,
            holdId: hold.holdId,
            aggressor: "hold",
          });
        }
        emit({ type: "hold.confirmed", holdId: hold.holdId });
        return events;
      }

      case "hold.cancel": {
        if (!this.findAccount(c.accountId)) return reject("unknown_account");
        const hold = this.findHold(c.holdId);
        if (!hold) return reject("unknown_hold");
        if (!this.actsFor(c.accountId, hold.accountId)) return reject("not_hold_owner");
        if (hold.status === "released") return events; // an idempotent repeat
        if (hold.status === "confirmed") return reject("hold_not_active");
        emit({ type: "hold.released", holdId: hold.holdId, reason: "cancelled" });
        this.uncrossAfterRelease(hold, emit);
        return events;
      }

      case "tick":
        return events;

      case "checkpoint": {
        // docs/replication.md: every product's stock row, sorted by sku, and the sha256 of their JSON.
        const stock: StockRow[] = [...this.products]
          .sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0))
          .map((p) => {
            const s = this.stock(p.sku)!;
            return [p.sku, s.available, s.held, s.onHand, s.demand];
          });
        const digest = createHash("sha256").update(JSON.stringify(stock)).digest("hex");
        emit({ type: "outlet.checkpoint", stock, digest });
        return events;
      }
    }
  }

  private placeOrder(
    c: CommandOf<"order.place">,
    now: number,
    emit: (e: EngineEvent) => void,
    reject: (r: RejectReason) => EngineEvent[],
    events: EngineEvent[],
  ): EngineEvent[] {
    const accountProblem = this.accountProblem(c.accountId);
    if (accountProblem) return reject(accountProblem);
    const productProblem = this.productProblem(c.sku);
    if (productProblem) return reject(productProblem);
    if (!this.isOpen(now)) return reject("market_closed");
    if (c.price * c.quantity > MAX_AMOUNT) return reject("amount_too_large");
    const brand = this.product(c.sku)!.brand;
    if (this.unitsToday(c.accountId, brand, now) + c.quantity > this.limitFor(brand)) {
      return reject("daily_limit_exceeded");
    }
    if (c.side === "outflow" && c.price * c.quantity > this.availableFunds(c.accountId)) {
      return reject("insufficient_funds");
    }
    const orderId = this.nextOrderId;
    emit({
      type: "order.accepted",
      orderId,
      accountId: c.accountId,
      sku: c.sku,
      side: c.side,
      price: c.price,
      quantity: c.quantity,
      timeInForce: c.timeInForce,
      reason: c.reason,
      reference: c.reference,
    });
    this.matchIncoming(this.findOrder(orderId)!, c.timeInForce, emit);
    return events;
  }

  private replaceOrder(
    c: CommandOf<"order.replace">,
    now: number,
    emit: (e: EngineEvent) => void,
    reject: (r: RejectReason) => EngineEvent[],
    events: EngineEvent[],
  ): EngineEvent[] {
    const accountProblem = this.accountProblem(c.accountId);
    if (accountProblem) return reject(accountProblem);
    const order = this.restingOrder(c.orderId);
    if (!order) return reject("unknown_order");
    if (!this.actsFor(c.accountId, order.accountId)) return reject("not_order_owner");
    if (!this.isOpen(now)) return reject("market_closed");
    if (this.heldOn(order) > 0) return reject("order_held");
    const newPrice = c.price ?? order.price;
    const newQuantity = c.quantity ?? order.remaining;
    if (newPrice === order.price && newQuantity <= order.remaining) return reject("invalid_quantity");
    if (newPrice * newQuantity > MAX_AMOUNT) return reject("amount_too_large");
    const brand = this.product(order.sku)!.brand;
    const extraUnits = Math.max(0, newQuantity - order.remaining);
    if (this.unitsToday(order.accountId, brand, now) + extraUnits > this.limitFor(brand)) {
      return reject("daily_limit_exceeded");
    }
    if (order.side === "outflow") {
      const extraReservation = newPrice * newQuantity - order.price * order.remaining;
      if (extraReservation > this.availableFunds(order.accountId)) return reject("insufficient_funds");
    }
    emit({
      type: "order.replaced",
      orderId: order.orderId,
      sku: order.sku,
      side: order.side,
      oldPrice: order.price,
      oldQuantity: order.remaining,
      price: newPrice,
      quantity: newQuantity,
    });
    this.matchIncoming(order, "GTC", emit);
    return events;
  }

  /** An order that is not resting yet meets the opposite side of its book. */
  private matchIncoming(incoming: RefOrder, timeInForce: TimeInForce, emit: (e: EngineEvent) => void): void {
    const opposite: Side = incoming.side === "inflow" ? "outflow" : "inflow";
    const crosses = (resting: RefOrder): boolean =>
      incoming.side === "outflow" ? resting.price <= incoming.price : resting.price >= incoming.price;

    if (timeInForce === "FOK") {
      const fillable = this.bookOrders(incoming.sku, opposite)
        .filter(crosses)
        .reduce((sum, o) => sum + this.availableOn(o), 0);
      if (fillable < incoming.remaining) {
        emit(cancelledEvent(incoming, incoming.remaining, "fok_unfilled"));
        return;
      }
    }

    while (incoming.remaining > 0) {
      // Book order is price then time, so the first crossing order with anything available is next.
      const resting = this.bookOrders(incoming.sku, opposite).find((o) => crosses(o) && this.availableOn(o) > 0);
      if (!resting) break;
      const quantity = Math.min(incoming.remaining, this.availableOn(resting));
      const inflow = incoming.side === "inflow" ? incoming : resting;
      const outflow = incoming.side === "outflow" ? incoming : resting;
      emit({
        type: "execution",
        execId: this.nextExecId,
        sku: incoming.sku,
        price: resting.price,
        quantity,
        inflowOrderId: inflow.orderId,
        inflowAccountId: inflow.accountId,
        outflowOrderId: outflow.orderId,
        outflowAccountId: outflow.accountId,
        holdId: null,
        aggressor: incoming.side,
      });
    }

    if (incoming.remaining === 0) return;
    if (timeInForce === "IOC") {
      emit(cancelledEvent(incoming, incoming.remaining, "ioc_remainder"));
    } else {
      emit({
        type: "order.rested",
        orderId: incoming.orderId,
        sku: incoming.sku,
        side: incoming.side,
        price: incoming.price,
        quantity: incoming.remaining,
      });
    }
  }

  private placeHold(
    c: CommandOf<"hold.place">,
    now: number,
    emit: (e: EngineEvent) => void,
    reject: (r: RejectReason) => EngineEvent[],
    events: EngineEvent[],
  ): EngineEvent[] {
    const known = this.findHold(c.holdId);
    if (known) return known.accountId === c.accountId ? events : reject("hold_exists");
    const accountProblem = this.accountProblem(c.accountId);
    if (accountProblem) return reject(accountProblem);
    if (!this.isOpen(now)) return reject("market_closed");
    for (const line of c.lines) {
      const problem = this.productProblem(line.sku);
      if (problem) return reject(problem);
    }
    const cartUnitsByBrand = new Map<string, number>();
    for (const line of c.lines) {
      const brand = this.product(line.sku)!.brand;
      cartUnitsByBrand.set(brand, (cartUnitsByBrand.get(brand) ?? 0) + line.quantity);
    }
    for (const [brand, units] of cartUnitsByBrand) {
      if (this.unitsToday(c.accountId, brand, now) + units > this.limitFor(brand)) {
        return reject("daily_limit_exceeded");
      }
    }

    const allocations: HoldAllocation[] = [];
    const takenByThisCart = new Map<number, number>();
    for (const line of c.lines) {
      let needed = line.quantity;
      for (const order of this.bookOrders(line.sku, "inflow")) {
        if (needed === 0) break;
        if (line.limitPrice !== null && order.price > line.limitPrice) break;
        const free = this.availableOn(order) - (takenByThisCart.get(order.orderId) ?? 0);
        if (free <= 0) continue;
        const quantity = Math.min(free, needed);
        allocations.push({ orderId: order.orderId, sku: line.sku, price: order.price, quantity });
        takenByThisCart.set(order.orderId, (takenByThisCart.get(order.orderId) ?? 0) + quantity);
        needed -= quantity;
      }
      if (needed > 0) return reject("insufficient_stock");
    }
    const amount = allocations.reduce((sum, a) => sum + a.price * a.quantity, 0);
    if (amount > MAX_AMOUNT) return reject("amount_too_large");
    if (amount > this.availableFunds(c.accountId)) return reject("insufficient_funds");

    emit({
      type: "hold.placed",
      holdId: c.holdId,
      accountId: c.accountId,
      expiresAt: now + c.ttlMs,
      reason: c.reason,
      reference: c.reference,
      lines: c.lines,
      allocations,
      amount,
    });
    return events;
  }

  // ---------------------------------------------------------------------------------------
  // Events: the only way state changes
  // ---------------------------------------------------------------------------------------

  apply(event: EngineEvent, ts: number): void {
    this.lastTs = Math.max(this.lastTs, ts);
    const now = this.lastTs;
    // Forget finished holds once their 24 hours are over; doing it here keeps replay exact.
    this.holds = this.holds.filter((h) => h.status === "active" || h.finishedAt + HOLD_MEMORY_MS > now);

    const e = event;
    switch (e.type) {
      case "outlet.configured":
        this.config = {
          timezone: e.timezone,
          tradingHours: e.tradingHours,
          defaultDailyLimit: e.defaultDailyLimit,
          brandLimits: e.brandLimits,
        };
        return;
      case "product.added": {
        // A re-listed sku replaces its removed entry.
        this.products = this.products.filter((p) => p.sku !== e.sku);
        this.products.push({ sku: e.sku, name: e.name, brand: e.brand, attributes: e.attributes, listed: true });
        return;
      }
      case "product.updated": {
        const p = this.product(e.sku)!;
        p.name = e.name;
        p.brand = e.brand;
        p.attributes = e.attributes;
        return;
      }
      case "product.removed":
        this.product(e.sku)!.listed = false;
        return;
      case "account.created":
        this.accounts.push({
          accountId: e.accountId,
          role: e.role,
          name: e.name,
          kyc: "pending",
          balance: 0,
          reserved: 0,
        });
        return;
      case "account.kyc_changed":
        this.findAccount(e.accountId)!.kyc = e.kyc;
        return;
      case "wallet.deposited":
        this.findAccount(e.accountId)!.balance += e.amount;
        return;
      case "wallet.withdrawn":
        this.findAccount(e.accountId)!.balance -= e.amount;
        return;

      case "order.accepted": {
        this.orders.push({
          orderId: e.orderId,
          accountId: e.accountId,
          sku: e.sku,
          side: e.side,
          price: e.price,
          remaining: e.quantity,
          timeInForce: e.timeInForce,
          reason: e.reason,
          reference: e.reference,
          resting: false,
          queuePosition: 0,
        });
        this.nextOrderId = Math.max(this.nextOrderId, e.orderId + 1);
        this.countUnits(e.accountId, this.product(e.sku)!.brand, e.quantity, now);
        if (e.side === "outflow") this.findAccount(e.accountId)!.reserved += e.price * e.quantity;
        return;
      }
      case "execution":
        this.applyExecution(e);
        return;
      case "order.rested": {
        const order = this.findOrder(e.orderId)!;
        order.resting = true;
        order.remaining = e.quantity;
        order.queuePosition = this.nextQueuePosition++;
        return;
      }
      case "order.cancelled": {
        const order = this.findOrder(e.orderId)!;
        if (order.side === "outflow") this.findAccount(order.accountId)!.reserved -= order.price * e.quantity;
        this.orders = this.orders.filter((o) => o.orderId !== e.orderId);
        return;
      }
      case "order.reduced": {
        const order = this.findOrder(e.orderId)!;
        if (order.side === "outflow") this.findAccount(order.accountId)!.reserved -= order.price * e.by;
        order.remaining = e.remaining;
        return;
      }
      case "order.replaced": {
        const order = this.findOrder(e.orderId)!;
        const owner = this.findAccount(order.accountId)!;
        if (order.side === "outflow") owner.reserved += e.price * e.quantity - e.oldPrice * e.oldQuantity;
        this.countUnits(owner.accountId, this.product(order.sku)!.brand, Math.max(0, e.quantity - e.oldQuantity), now);
        order.resting = false; // leaves the book; it matches again as an incoming order
        order.price = e.price;
        order.remaining = e.quantity;
        return;
      }

      case "hold.placed": {
        this.holds.push({
          holdId: e.holdId,
          accountId: e.accountId,
          placement: this.nextHoldPlacement++,
          expiresAt: e.expiresAt,
          allocations: e.allocations,
          stillHeld: e.allocations.map((a) => a.quantity),
          amount: e.amount,
          status: "active",
          finishedAt: 0,
        });
        this.findAccount(e.accountId)!.reserved += e.amount;
        for (const line of e.lines) this.countUnits(e.accountId, this.product(line.sku)!.brand, line.quantity, now);
        return;
      }
      case "hold.extended":
        this.findHold(e.holdId)!.expiresAt = e.expiresAt;
        return;
      case "hold.confirmed": {
        // Its executions already moved the funds and the units.
        const hold = this.findHold(e.holdId)!;
        hold.status = "confirmed";
        hold.finishedAt = now;
        return;
      }
      case "hold.released": {
        const hold = this.findHold(e.holdId)!;
        hold.status = "released";
        hold.finishedAt = now;
        hold.stillHeld = hold.stillHeld.map(() => 0);
        this.findAccount(hold.accountId)!.reserved -= hold.amount;
        return;
      }
      case "command.rejected":
      case "outlet.checkpoint":
        return;
    }
  }

  private applyExecution(e: EventOf<"execution">): void {
    const value = e.price * e.quantity;
    const inflow = this.findOrder(e.inflowOrderId)!;
    inflow.remaining -= e.quantity;
    this.findAccount(e.inflowAccountId)!.balance += value;
    const buyer = this.findAccount(e.outflowAccountId)!;
    buyer.balance -= value;
    if (e.holdId !== null) {
      // The hold reserved exactly each allocation's value; its units stop being held.
      const hold = this.findHold(e.holdId)!;
      const index = hold.allocations.findIndex((a, i) => a.orderId === e.inflowOrderId && hold.stillHeld[i]! > 0);
      hold.stillHeld[index]! -= e.quantity;
      buyer.reserved -= value;
    } else {
      const outflow = this.findOrder(e.outflowOrderId!)!;
      outflow.remaining -= e.quantity;
      buyer.reserved -= outflow.price * e.quantity; // the reservation was at the outflow's limit
    }
    this.nextExecId = Math.max(this.nextExecId, e.execId + 1);
    this.orders = this.orders.filter((o) => o.remaining > 0);
  }

  // ---------------------------------------------------------------------------------------
  // Queries
  // ---------------------------------------------------------------------------------------

  stock(sku: string): RefStock | null {
    if (!this.product(sku)) return null;
    let available = 0;
    let held = 0;
    for (const order of this.bookOrders(sku, "inflow")) {
      available += this.availableOn(order);
      held += this.heldOn(order);
    }
    const demand = this.bookOrders(sku, "outflow").reduce((sum, o) => sum + o.remaining, 0);
    return { sku, available, held, onHand: available + held, demand };
  }

  depth(sku: string, levels?: number): RefDepth | null {
    if (!this.product(sku)) return null;
    const levelsOf = (side: Side): RefDepthLevel[] => {
      const result: RefDepthLevel[] = [];
      for (const order of this.bookOrders(sku, side)) {
        let level = result.find((l) => l.price === order.price);
        if (!level) {
          level = { price: order.price, quantity: 0, held: 0, orders: 0 };
          result.push(level);
        }
        level.quantity += order.remaining;
        level.held += this.heldOn(order);
        level.orders += 1;
      }
      return levels === undefined ? result : result.slice(0, levels);
    };
    return { sku, inflow: levelsOf("inflow"), outflow: levelsOf("outflow") };
  }

  /** A live order with its remaining and held units (null once it is gone). */
  order(id: number): RefOrderView | null {
    const o = this.findOrder(id);
    if (!o) return null;
    return {
      orderId: o.orderId,
      accountId: o.accountId,
      sku: o.sku,
      side: o.side,
      price: o.price,
      remaining: o.remaining,
      held: this.heldOn(o),
    };
  }

  account(id: string): RefAccountView | null {
    const a = this.findAccount(id);
    if (!a) return null;
    return { accountId: a.accountId, role: a.role, name: a.name, kyc: a.kyc, balance: a.balance, reserved: a.reserved };
  }

  // ---------------------------------------------------------------------------------------
  // Helpers
  // ---------------------------------------------------------------------------------------

  private product(sku: string): RefProduct | undefined {
    return this.products.find((p) => p.sku === sku);
  }
  private findAccount(id: string): RefAccount | undefined {
    return this.accounts.find((a) => a.accountId === id);
  }
  private findOrder(id: number): RefOrder | undefined {
    return this.orders.find((o) => o.orderId === id);
  }
  private restingOrder(id: number): RefOrder | undefined {
    return this.orders.find((o) => o.orderId === id && o.resting);
  }
  private findHold(id: string): RefHold | undefined {
    return this.holds.find((h) => h.holdId === id);
  }
  private activeHoldsInPlacementOrder(): RefHold[] {
    return this.holds.filter((h) => h.status === "active").sort((a, b) => a.placement - b.placement);
  }

  private accountProblem(id: string): RejectReason | null {
    const account = this.findAccount(id);
    if (!account) return "unknown_account";
    if (account.kyc === "pending") return "account_not_verified";
    if (account.kyc === "suspended") return "account_suspended";
    return null;
  }
  private productProblem(sku: string): RejectReason | null {
    const product = this.product(sku);
    if (!product) return "unknown_sku";
    if (!product.listed) return "sku_delisted";
    return null;
  }
  /** May `actorId` act on something owned by `ownerId`? */
  private actsFor(actorId: string, ownerId: string): boolean {
    return actorId === ownerId || PRIVILEGED_ROLES.includes(this.findAccount(actorId)!.role);
  }
  /**
   * Released units meet waiting demand: per sku of the hold (first appearance), while the
   * cheapest inflow with available units is priced at or below the best outflow, the two front
   * orders trade at the older order's price, the younger one being the aggressor.
   */
  private uncrossAfterRelease(hold: RefHold, emit: (e: EngineEvent) => void, delistedSku?: string): void {
    const skus = [...new Set(hold.allocations.map((a) => a.sku))].filter((s) => s !== delistedSku);
    for (const sku of skus) {
      for (;;) {
        const inflow = this.bookOrders(sku, "inflow").find((o) => this.availableOn(o) > 0);
        const outflow = this.bookOrders(sku, "outflow")[0];
        if (!inflow || !outflow || inflow.price > outflow.price) break;
        const older = inflow.orderId < outflow.orderId ? inflow : outflow;
        const younger = older === inflow ? outflow : inflow;
        emit({
          type: "execution",
          execId: this.nextExecId,
          sku,
          price: older.price,
          quantity: Math.min(this.availableOn(inflow), outflow.remaining),
          inflowOrderId: inflow.orderId,
          inflowAccountId: inflow.accountId,
          outflowOrderId: outflow.orderId,
          outflowAccountId: outflow.accountId,
          holdId: null,
          aggressor: younger.side,
        });
      }
    }
  }

  private availableFunds(accountId: string): number {
    const a = this.findAccount(accountId)!;
    return a.balance - a.reserved;
  }

  /** Resting orders of one side of a sku's book, best price first, then FIFO. */
  private bookOrders(sku: string, side: Side): RefOrder[] {
    return this.orders
      .filter((o) => o.resting && o.sku === sku && o.side === side)
      .sort((a, b) => (side === "inflow" ? a.price - b.price : b.price - a.price) || a.queuePosition - b.queuePosition);
  }
  private heldOn(order: RefOrder): number {
    let held = 0;
    for (const hold of this.holds) {
      if (hold.status !== "active") continue;
      hold.allocations.forEach((a, i) => {
        if (a.orderId === order.orderId) held += hold.stillHeld[i]!;
      });
    }
    return held;
  }
  private availableOn(order: RefOrder): number {
    return order.remaining - this.heldOn(order);
  }

  private limitFor(brand: string): number {
    return this.config.brandLimits[brand] ?? this.config.defaultDailyLimit;
  }
  private unitsToday(accountId: string, brand: string, now: number): number {
    const day = localTime(now, this.config.timezone).date;
    return this.dailyUnits.find((d) => d.accountId === accountId && d.brand === brand && d.day === day)?.units ?? 0;
  }
  private countUnits(accountId: string, brand: string, units: number, now: number): void {
    const day = localTime(now, this.config.timezone).date;
    let entry = this.dailyUnits.find((d) => d.accountId === accountId && d.brand === brand && d.day === day);
    if (!entry) {
      entry = { accountId, brand, day, units: 0 };
      this.dailyUnits.push(entry);
    }
    entry.units += units;
  }

  private isOpen(now: number): boolean {
    const hours = this.config.tradingHours;
    if (hours === null) return true;
    const local = localTime(now, this.config.timezone);
    const spans = hours[local.weekday] ?? [];
    return spans.some((s) => minutesOf(s.open) <= local.minuteOfDay && local.minuteOfDay < minutesOf(s.close));
  }
}

function cancelledEvent(
  order: RefOrder,
  quantity: number,
  reason: EventOf<"order.cancelled">["reason"],
): EventOf<"order.cancelled"> {
  return {
    type: "order.cancelled",
    orderId: order.orderId,
    sku: order.sku,
    side: order.side,
    price: order.price,
    quantity,
    reason,
  };
}

type Weekday = keyof TradingHours;

/** "HH:MM" → minutes since local midnight ("24:00" is 1440, the end of the day). */
function minutesOf(clock: string): number {
  const [h, m] = clock.split(":").map(Number);
  return h! * 60 + m!;
}

interface LocalTime {
  date: string;
  weekday: Weekday;
  minuteOfDay: number;
}

// Building an Intl.DateTimeFormat is slow, so keep one per timezone.
const formatters = new Map<string, Intl.DateTimeFormat>();
// Formatting is slow too. Offsets are whole minutes, so one UTC minute has one local answer.
const localTimeCache = new Map<string, LocalTime>();

/**
 * The local calendar date, weekday and minute of the day of `ts` in `timezone`. Spans open and
 * close on whole minutes, so comparing whole minutes decides open/closed exactly.
 */
export function localTime(ts: number, timezone: string): LocalTime {
  const key = `${timezone} ${Math.floor(ts / 60_000)}`;
  let cached = localTimeCache.get(key);
  if (!cached) {
    if (localTimeCache.size > 100_000) localTimeCache.clear();
    cached = formatLocalTime(ts, timezone);
    localTimeCache.set(key, cached);
  }
  return cached;
}

function formatLocalTime(ts: number, timezone: string): LocalTime {
  let formatter = formatters.get(timezone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      weekday: "short",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timezone, formatter);
  }
  const part: Record<string, string> = {};
  for (const p of formatter.formatToParts(new Date(ts))) part[p.type] = p.value;
  return {
    date: `${part.year}-${part.month}-${part.day}`,
    weekday: part.weekday!.toLowerCase() as Weekday,
    minuteOfDay: Number(part.hour) * 60 + Number(part.minute),
  };
}
