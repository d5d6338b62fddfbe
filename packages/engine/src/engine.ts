import {
  type CancelReason,
  type Command,
  type CommandOf,
  type EngineEvent,
  type EventOf,
  type HoldAllocation,
  MAX_AMOUNT,
  PRIVILEGED_ROLES,
  REJECT_MESSAGES,
  type RejectReason,
  type ReleaseReason,
} from "@stockroom/contracts";
import type { Book, BookSide, Order } from "./book.ts";
import { digestOf, type EngineSnapshot, restoreInto, stockDigest, takeSnapshot } from "./snapshot.ts";
import { type Account, type Hold, type Product, State } from "./state.ts";

/** "No events yet" for `Engine.out`; never handed out (see `Engine.push`). */
const NO_EVENTS: EngineEvent[] = [];

/**
 * The outlet's deterministic core: sequenced commands in, events out (docs/engine.md). It
 * decides here and changes state only by applying the events it emits, in order.
 */
export class Engine extends State {
  private out: EngineEvent[] = NO_EVENTS;
  private now = 0;

  execute(command: Command, ts: number): EngineEvent[] {
    this.out = NO_EVENTS;
    this.now = Math.max(ts, this.lastTs);
    this.expireHolds();
    switch (command.type) {
      case "order.place":
        this.placeOrder(command);
        break;
      case "order.cancel":
        this.cancelOrder(command);
        break;
      case "order.reduce":
        this.reduceOrder(command);
        break;
      case "order.replace":
        this.replaceOrder(command);
        break;
      case "hold.place":
        this.placeHold(command);
        break;
      case "hold.extend":
        this.extendHold(command);
        break;
      case "hold.confirm":
        this.confirmHold(command);
        break;
      case "hold.cancel":
        this.cancelHold(command);
        break;
      case "tick":
        break;
      case "checkpoint": {
        const stock = this.stockRows();
        this.emit({ type: "outlet.checkpoint", stock, digest: stockDigest(stock) });
        break;
      }
      case "outlet.configure":
        this.emit({
          type: "outlet.configured",
          timezone: command.timezone,
          tradingHours: command.tradingHours,
          defaultDailyLimit: command.defaultDailyLimit,
          brandLimits: command.brandLimits,
        });
        break;
      case "product.add":
        if (this.products.get(command.sku)?.listed) this.reject(command, "sku_exists");
        else
          this.emit({
            type: "product.added",
            sku: command.sku,
            name: command.name,
            brand: command.brand,
            attributes: command.attributes,
          });
        break;
      case "product.update": {
        const product = this.products.get(command.sku);
        if (!product) this.reject(command, "unknown_sku");
        else if (!product.listed) this.reject(command, "sku_delisted");
        else
          this.emit({
            type: "product.updated",
            sku: command.sku,
            name: command.name ?? product.name,
            brand: command.brand ?? product.brand,
            attributes: command.attributes ?? product.attributes,
          });
        break;
      }
      case "product.remove":
        this.removeProduct(command);
        break;
      case "account.create":
        if (this.accounts.has(command.accountId)) this.reject(command, "account_exists");
        else
          this.emit({ type: "account.created", accountId: command.accountId, role: command.role, name: command.name });
        break;
      case "account.kyc":
        if (!this.accounts.has(command.accountId)) this.reject(command, "unknown_account");
        else this.emit({ type: "account.kyc_changed", accountId: command.accountId, kyc: command.kyc });
        break;
      case "wallet.deposit": {
        const account = this.accounts.get(command.accountId);
        if (!account) this.reject(command, "unknown_account");
        else if (account.balance + command.amount > MAX_AMOUNT) this.reject(command, "amount_too_large");
        else this.emit({ type: "wallet.deposited", accountId: command.accountId, amount: command.amount });
        break;
      }
      case "wallet.withdraw": {
        const account = this.accounts.get(command.accountId);
        if (!account) this.reject(command, "unknown_account");
        else if (command.amount > account.balance - account.reserved) this.reject(command, "insufficient_funds");
        else this.emit({ type: "wallet.withdrawn", accountId: command.accountId, amount: command.amount });
        break;
      }
    }
    return this.out === NO_EVENTS ? [] : this.out;
  }

  snapshot(): EngineSnapshot {
    return takeSnapshot(this, restingOrders);
  }

  static restore(snapshot: EngineSnapshot): Engine {
    const engine = new Engine();
    restoreInto(engine, snapshot);
    return engine;
  }

  /** sha256 of the snapshot: equal for equal states, whether executed, replayed or restored. */
  digest(): string {
    return digestOf(this.snapshot());
  }

  /**
   * Adds an event to the command's list. The first makes the list as a one-element literal: a
   * command with one event (a cancel, a rejection) then never grows an array, as a push onto a
   * fresh `[]` always does.
   */
  private push(event: EngineEvent): void {
    if (this.out === NO_EVENTS) this.out = [event];
    else this.out.push(event);
  }

  private emit(event: EngineEvent): void {
    this.push(event);
    this.apply(event, this.now);
  }

  // Fast paths of `emit` for the events of every order: the same state change as `apply`, given
  // the objects this engine already holds rather than looking them up again by id. One liberty:
  // an incoming order enters `orders` only when it rests. Nothing looks it up by id while its
  // command runs, and after the command `orders` holds exactly what folding the events gives.

  private emitAccepted(event: EventOf<"order.accepted">, product: Product, account: Account): Order {
    this.push(event);
    return this.applyAccepted(event, product, account, this.advance(this.now));
  }

  /** `order.rested` of an incoming order: the order is indexed by id now (see applyAccepted). */
  private emitRested(order: Order): void {
    this.push(rested(order));
    this.advance(this.now);
    this.orders.set(order.id, order);
    this.applyRested(order);
  }

  /** `order.cancelled`; `indexed`: the order is in `orders` (it rested), not an incoming one. */
  private emitCancelled(order: Order, quantity: number, reason: CancelReason, indexed: boolean): void {
    this.push(cancelled(order, quantity, reason));
    this.advance(this.now);
    this.applyCancelled(order);
    if (indexed) this.orders.delete(order.id);
  }

  private reject(command: Command, reason: RejectReason): void {
    this.emit({ type: "command.rejected", reason, message: REJECT_MESSAGES[reason], command });
  }

  private expireHolds(): void {
    for (let hold = this.expiries.popDue(this.now); hold; hold = this.expiries.popDue(this.now)) {
      this.release(hold, "expired");
    }
  }

  /** The account may transact: known, and KYC verified. */
  private transactingAccountProblem(accountId: string): RejectReason | null {
    return accountProblem(this.accounts.get(accountId));
  }

  private mayActFor(actorId: string, ownerId: string): boolean {
    return actorId === ownerId || PRIVILEGED_ROLES.includes(this.accounts.get(actorId)!.role);
  }

  private skuProblem(sku: string): RejectReason | null {
    return productProblem(this.products.get(sku));
  }

  private placeOrder(c: CommandOf<"order.place">): void {
    const account = this.accounts.get(c.accountId);
    const product = this.products.get(c.sku);
    const problem = accountProblem(account) ?? productProblem(product);
    if (problem) return this.reject(c, problem);
    if (!account || !product) return; // (narrowing only: the problems above cover both)
    if (!this.clock.isOpen(this.now)) return this.reject(c, "market_closed");
    const value = c.price * c.quantity;
    if (value > MAX_AMOUNT) return this.reject(c, "amount_too_large");
    if (this.productDailyUnits(account, product, this.now) + c.quantity > this.productDailyLimit(product)) {
      return this.reject(c, "daily_limit_exceeded");
    }
    if (c.side === "outflow" && value > account.balance - account.reserved) return this.reject(c, "insufficient_funds");

    const order = this.emitAccepted(
      {
        type: "order.accepted",
        orderId: this.nextOrderId,
        accountId: c.accountId,
        sku: c.sku,
        side: c.side,
        price: c.price,
        quantity: c.quantity,
        timeInForce: c.timeInForce,
        reason: c.reason,
        reference: c.reference,
      },
      product,
      account,
    );
    const opposite = order.bookSide.isInflow ? product.book.outflow : product.book.inflow;
    if (c.timeInForce === "FOK" && fillable(opposite, c.price, c.quantity) < c.quantity) {
      return this.emitCancelled(order, c.quantity, "fok_unfilled", false);
    }
    this.match(order, opposite);
    if (order.remaining === 0) return;
    if (c.timeInForce === "IOC") {
      this.emitCancelled(order, order.remaining, "ioc_remainder", false);
    } else {
      this.emitRested(order);
    }
  }

  /** Fill an incoming order against the opposite side, best level first, FIFO within a level. */
  private match(order: Order, opposite: BookSide): void {
    const levels = opposite.levels;
    for (let i = levels.length - 1; i >= 0 && order.remaining > 0; i--) {
      const level = levels[i]!;
      if (!opposite.crosses(level.price, order.price)) break;
      if (level.remaining === level.held) continue;
      for (let resting = level.head; resting !== null && order.remaining > 0; ) {
        const next = resting.next;
        const available = resting.remaining - resting.held;
        if (available > 0) this.execute1(order, resting, Math.min(available, order.remaining));
        resting = next;
      }
      // An emptied level was removed from `levels` at index i; those below keep their index.
    }
  }

  private execute1(incoming: Order, resting: Order, quantity: number): void {
    const incomingInflow = incoming.bookSide.isInflow;
    const inflow = incomingInflow ? incoming : resting;
    const outflow = incomingInflow ? resting : incoming;
    const event: EventOf<"execution"> = {
      type: "execution",
      execId: this.nextExecId,
      sku: incoming.sku,
      price: resting.price,
      quantity,
      inflowOrderId: inflow.id,
      inflowAccountId: inflow.accountId,
      outflowOrderId: outflow.id,
      outflowAccountId: outflow.accountId,
      holdId: null,
      aggressor: incoming.side,
    };
    this.push(event);
    this.advance(this.now);
    this.applyExecution(event, inflow, outflow, inflow.account, outflow.account);
  }

  /** The resting order an owner (or a privileged account) may change, or why not. */
  private ownedRestingOrder(c: { accountId: string; orderId: number }): Order | RejectReason {
    if (!this.accounts.has(c.accountId)) return "unknown_account";
    const order = this.orders.get(c.orderId);
    if (!order?.level) return "unknown_order";
    if (!this.mayActFor(c.accountId, order.accountId)) return "not_order_owner";
    return order;
  }

  private cancelOrder(c: CommandOf<"order.cancel">): void {
    const order = this.ownedRestingOrder(c);
    if (typeof order === "string") return this.reject(c, order);
    if (order.held > 0) return this.reject(c, "order_held");
    this.emitCancelled(order, order.remaining, "requested", true);
  }

  private reduceOrder(c: CommandOf<"order.reduce">): void {
    const order = this.ownedRestingOrder(c);
    if (typeof order === "string") return this.reject(c, order);
    if (c.by >= order.remaining) return this.reject(c, "invalid_quantity");
    if (order.remaining - c.by < order.held) return this.reject(c, "order_held");
    this.emit({
      type: "order.reduced",
      orderId: order.id,
      sku: order.sku,
      side: order.side,
      price: order.price,
      by: c.by,
      remaining: order.remaining - c.by,
    });
  }

  private replaceOrder(c: CommandOf<"order.replace">): void {
    const problem = this.transactingAccountProblem(c.accountId);
    if (problem) return this.reject(c, problem);
    const order = this.ownedRestingOrder(c);
    if (typeof order === "string") return this.reject(c, order);
    if (!this.clock.isOpen(this.now)) return this.reject(c, "market_closed");
    if (order.held > 0) return this.reject(c, "order_held");
    const price = c.price ?? order.price;
    const quantity = c.quantity ?? order.remaining;
    if (price === order.price && quantity <= order.remaining) return this.reject(c, "invalid_quantity");
    if (price * quantity > MAX_AMOUNT) return this.reject(c, "amount_too_large");
    const owner = this.accounts.get(order.accountId)!;
    const product = this.products.get(order.sku)!;
    const extraUnits = Math.max(0, quantity - order.remaining);
    if (this.productDailyUnits(owner, product, this.now) + extraUnits > this.productDailyLimit(product)) {
      return this.reject(c, "daily_limit_exceeded");
    }
    if (order.side === "outflow" && price * quantity - order.price * order.remaining > owner.balance - owner.reserved) {
      return this.reject(c, "insufficient_funds");
    }
    this.emit({
      type: "order.replaced",
      orderId: order.id,
      sku: order.sku,
      side: order.side,
      oldPrice: order.price,
      oldQuantity: order.remaining,
      price,
      quantity,
    });
    this.match(order, order.side === "inflow" ? product.book.outflow : product.book.inflow);
    if (order.remaining > 0) this.emit(rested(order));
  }

  private placeHold(c: CommandOf<"hold.place">): void {
    const known = this.holds.get(c.holdId);
    if (known) {
      if (known.accountId !== c.accountId) this.reject(c, "hold_exists");
      return;
    }
    const problem = this.transactingAccountProblem(c.accountId);
    if (problem) return this.reject(c, problem);
    if (!this.clock.isOpen(this.now)) return this.reject(c, "market_closed");
    for (const line of c.lines) {
      const skuProblem = this.skuProblem(line.sku);
      if (skuProblem) return this.reject(c, skuProblem);
    }
    const account = this.accounts.get(c.accountId)!;
    const unitsByBrand = new Map<string, number>();
    for (const line of c.lines) {
      const brand = this.products.get(line.sku)!.brand;
      unitsByBrand.set(brand, (unitsByBrand.get(brand) ?? 0) + line.quantity);
    }
    for (const [brand, units] of unitsByBrand) {
      if (this.dailyUnits(account, brand, this.now) + units > this.dailyLimit(brand)) {
        return this.reject(c, "daily_limit_exceeded");
      }
    }
    const allocations = this.allocate(c.lines);
    if (!allocations) return this.reject(c, "insufficient_stock");
    let amount = 0;
    for (const a of allocations) amount += a.price * a.quantity;
    if (amount > MAX_AMOUNT) return this.reject(c, "amount_too_large");
    if (amount > account.balance - account.reserved) return this.reject(c, "insufficient_funds");
    this.emit({
      type: "hold.placed",
      holdId: c.holdId,
      accountId: c.accountId,
      expiresAt: this.now + c.ttlMs,
      reason: c.reason,
      reference: c.reference,
      lines: c.lines,
      allocations,
      amount,
    });
  }

  /** Best-price-first allocation of every line, or null if any line falls short (all or nothing). */
  private allocate(lines: CommandOf<"hold.place">["lines"]): HoldAllocation[] | null {
    const allocations: HoldAllocation[] = [];
    // Units this cart already took per order, so lines of one sku count together.
    const taken = new Map<number, number>();
    for (const line of lines) {
      let wanted = line.quantity;
      const levels = this.products.get(line.sku)!.book.inflow.levels;
      for (let i = levels.length - 1; i >= 0 && wanted > 0; i--) {
        const level = levels[i]!;
        if (line.limitPrice !== null && level.price > line.limitPrice) break;
        if (level.remaining === level.held) continue;
        for (let order = level.head; order !== null && wanted > 0; order = order.next) {
          const already = taken.get(order.id) ?? 0;
          const available = order.remaining - order.held - already;
          if (available <= 0) continue;
          const quantity = Math.min(available, wanted);
          taken.set(order.id, already + quantity);
          allocations.push({ orderId: order.id, sku: line.sku, price: order.price, quantity });
          wanted -= quantity;
        }
      }
      if (wanted > 0) return null;
    }
    return allocations;
  }

  /** The hold an owner (or a privileged account) may act on, or why not. */
  private ownedHold(c: { accountId: string; holdId: string }): Hold | RejectReason {
    if (!this.accounts.has(c.accountId)) return "unknown_account";
    const hold = this.holds.get(c.holdId);
    if (!hold) return "unknown_hold";
    if (!this.mayActFor(c.accountId, hold.accountId)) return "not_hold_owner";
    return hold;
  }

  private extendHold(c: CommandOf<"hold.extend">): void {
    const hold = this.ownedHold(c);
    if (typeof hold === "string") return this.reject(c, hold);
    if (hold.status !== "active") return this.reject(c, "hold_not_active");
    this.emit({ type: "hold.extended", holdId: hold.holdId, expiresAt: Math.max(hold.expiresAt, this.now + c.ttlMs) });
  }

  private confirmHold(c: CommandOf<"hold.confirm">): void {
    const hold = this.ownedHold(c);
    if (typeof hold === "string") return this.reject(c, hold);
    if (hold.status === "confirmed") return;
    if (hold.status === "released") return this.reject(c, "hold_not_active");
    for (const a of hold.allocations) {
      const inflow = this.orders.get(a.orderId)!;
      this.emit({
        type: "execution",
        execId: this.nextExecId,
        sku: a.sku,
        price: a.price,
        quantity: a.quantity,
        inflowOrderId: a.orderId,
        inflowAccountId: inflow.accountId,
        outflowOrderId: null,
        outflowAccountId: hold.accountId,
        holdId: hold.holdId,
        aggressor: "hold",
      });
    }
    this.emit({ type: "hold.confirmed", holdId: hold.holdId });
  }

  private cancelHold(c: CommandOf<"hold.cancel">): void {
    const hold = this.ownedHold(c);
    if (typeof hold === "string") return this.reject(c, hold);
    if (hold.status === "released") return;
    if (hold.status === "confirmed") return this.reject(c, "hold_not_active");
    this.release(hold, "cancelled");
  }

  /** Releases a hold; the units it gave back then meet any demand that waited for them. */
  private release(hold: Hold, reason: ReleaseReason, delistedSku?: string): void {
    this.emit({ type: "hold.released", holdId: hold.holdId, reason });
    const skus = new Set(hold.allocations.map((a) => a.sku));
    for (const sku of skus) if (sku !== delistedSku) this.uncross(this.products.get(sku)!.book);
  }

  /**
   * Matches available inflow against resting outflow until the book no longer crosses. Both
   * orders rest, so the older one (smaller id) sets the price, as a resting order does, and the
   * younger one is the aggressor.
   */
  private uncross(book: Book): void {
    for (;;) {
      const outflow = book.outflow.best();
      const inflow = firstAvailable(book.inflow);
      if (!outflow || !inflow || inflow.price > outflow.price) return;
      const buyer = outflow.head!;
      const [older, younger] = inflow.id < buyer.id ? [inflow, buyer] : [buyer, inflow];
      this.emit({
        type: "execution",
        execId: this.nextExecId,
        sku: book.sku,
        price: older.price,
        quantity: Math.min(inflow.remaining - inflow.held, buyer.remaining),
        inflowOrderId: inflow.id,
        inflowAccountId: inflow.accountId,
        outflowOrderId: buyer.id,
        outflowAccountId: buyer.accountId,
        holdId: null,
        aggressor: younger.side,
      });
    }
  }

  private removeProduct(c: CommandOf<"product.remove">): void {
    const problem = this.skuProblem(c.sku);
    if (problem) return this.reject(c, problem);
    const holds = [...this.activeHolds].filter((h) => h.allocations.some((a) => a.sku === c.sku));
    for (const hold of holds) this.release(hold, "delisted", c.sku);
    const book = this.products.get(c.sku)!.book;
    for (const order of [...restingOrders(book)]) {
      this.emit(cancelled(order, order.remaining, "delisted"));
    }
    this.emit({ type: "product.removed", sku: c.sku });
  }
}

function rested(order: Order): EngineEvent {
  return {
    type: "order.rested",
    orderId: order.id,
    sku: order.sku,
    side: order.side,
    price: order.price,
    quantity: order.remaining,
  };
}

function cancelled(order: Order, quantity: number, reason: CancelReason): EngineEvent {
  return {
    type: "order.cancelled",
    orderId: order.id,
    sku: order.sku,
    side: order.side,
    price: order.price,
    quantity,
    reason,
  };
}

function accountProblem(account: Account | undefined): RejectReason | null {
  if (!account) return "unknown_account";
  if (account.kyc === "verified") return null; // the usual case, tested first: one string comparison
  if (account.kyc === "pending") return "account_not_verified";
  if (account.kyc === "suspended") return "account_suspended";
  return null;
}

function productProblem(product: Product | undefined): RejectReason | null {
  if (!product) return "unknown_sku";
  return product.listed ? null : "sku_delisted";
}

/** The first order with available units on the best inflow level that has any. */
function firstAvailable(side: BookSide): Order | null {
  for (let i = side.levels.length - 1; i >= 0; i--) {
    const level = side.levels[i]!;
    if (level.remaining === level.held) continue;
    for (let o = level.head; o; o = o.next) if (o.remaining > o.held) return o;
  }
  return null;
}

/** Units an incoming order at `limit` could take from `side` right now, counting up to `wanted`. */
function fillable(side: BookSide, limit: number, wanted: number): number {
  let total = 0;
  const levels = side.levels;
  for (let i = levels.length - 1; i >= 0 && total < wanted; i--) {
    const level = levels[i]!;
    if (!side.crosses(level.price, limit)) break;
    total += level.remaining - level.held;
  }
  return total;
}

/** Resting orders of a book: inflow best first, then outflow best first, FIFO within a level. */
export function* restingOrders(book: Book): Generator<Order> {
  for (const side of [book.inflow, book.outflow]) {
    const levels = [...side.levels].reverse();
    for (const level of levels) for (let o = level.head; o; o = o.next) yield o;
  }
}
