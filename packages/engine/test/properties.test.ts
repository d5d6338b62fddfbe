/**
 * Invariants of the engine over seeded random streams (fast-check picks the seed and the length
 * and shrinks towards the shortest failing prefix).
 *
 * A `Ledger` folds the events as an outsider would (HQ, an auditor): it knows only what the
 * events say. After every command the ledger and the engine's own views must agree with the
 * invariants of ARCHITECTURE.md: units and funds conserved, nothing oversold, price-time
 * priority, no crossed book, every unit of an order accounted for, cancelled orders stay dead.
 *
 * The same properties run against the reference engine too, which keeps the reference honest.
 */
import type { Command, EngineEvent, EventOf, Side, TimeInForce } from "@stockroom/contracts";
import { Engine } from "@stockroom/engine";
import fc from "fast-check";
import { describe, it } from "vitest";
import { runStream, streamSeedArbitrary } from "./gen.ts";
import { ReferenceEngine } from "./reference/reference-engine.ts";

/** FC_SEED=n reruns fast-check's search from another seed; the default keeps CI deterministic. */
const FC_SEED = Number(process.env.FC_SEED ?? 20_240_601);
const NUM_RUNS = 150;

/** What the properties need from an engine; both engines offer it. */
interface EngineUnderTest {
  execute(command: Command, ts: number): EngineEvent[];
  stock(sku: string): { available: number; held: number; onHand: number; demand: number } | null;
  depth(sku: string): {
    inflow: { price: number; quantity: number; held: number; orders: number }[];
    outflow: { price: number; quantity: number; held: number; orders: number }[];
  } | null;
  account(id: string): { balance: number; reserved: number } | null;
  order(id: number): { remaining: number; held: number } | null;
}

class PropertyViolation extends Error {}

function check(condition: boolean, message: () => string): asserts condition {
  if (!condition) throw new PropertyViolation(message());
}

interface LedgerOrder {
  orderId: number;
  accountId: string;
  sku: string;
  side: Side;
  price: number;
  /** Replaced orders are GTC. */
  timeInForce: TimeInForce;
  /** Units asked for: the accepted quantity, moved by replaces (new quantity - old remaining). */
  ordered: number;
  filled: number;
  reduced: number;
  cancelled: number;
  remaining: number;
  resting: boolean;
  /** Order in which it joined its price level (reduce keeps it; replace + rest renews it). */
  queuePosition: number;
}

interface LedgerHold {
  accountId: string;
  amount: number;
  /** Per allocation: the order and the units still held. */
  allocations: { orderId: number; sku: string; price: number; held: number }[];
  active: boolean;
}

/** Per sku, per side: where every unit went. */
interface UnitFlow {
  ordered: number;
  executed: number;
  cancelled: number;
  reduced: number;
}

/** The state of the outlet as the events tell it, with the checks that need event-level detail. */
class Ledger {
  readonly orders = new Map<number, LedgerOrder>();
  readonly deadOrders = new Set<number>();
  readonly holds = new Map<string, LedgerHold>();
  readonly accounts = new Set<string>();
  readonly skus = new Set<string>();
  readonly flows = new Map<string, Record<Side, UnitFlow>>();
  netDeposits = 0;
  /** Skus whose held units a release gave back during the current command. */
  readonly releasedSkus = new Set<string>();
  private nextQueuePosition = 1;
  private lastOrderId = 0;
  private lastExecId = 0;

  heldOn(orderId: number): number {
    let held = 0;
    for (const hold of this.holds.values()) {
      if (!hold.active) continue;
      for (const a of hold.allocations) if (a.orderId === orderId) held += a.held;
    }
    return held;
  }

  availableOn(order: LedgerOrder): number {
    return order.remaining - this.heldOn(order.orderId);
  }

  flow(sku: string, side: Side): UnitFlow {
    let flows = this.flows.get(sku);
    if (!flows) {
      flows = {
        inflow: { ordered: 0, executed: 0, cancelled: 0, reduced: 0 },
        outflow: { ordered: 0, executed: 0, cancelled: 0, reduced: 0 },
      };
      this.flows.set(sku, flows);
    }
    return flows[side];
  }

  private order(orderId: number, event: EngineEvent): LedgerOrder {
    check(
      !this.deadOrders.has(orderId),
      () => `order ${orderId} acts after it was cancelled: ${JSON.stringify(event)}`,
    );
    const order = this.orders.get(orderId);
    check(order !== undefined, () => `event for an order that is not live: ${JSON.stringify(event)}`);
    return order;
  }

  /** Was `order` first in line for an aggressor at `limit`: nothing better placed had units to give? */
  private checkPriority(resting: LedgerOrder, limit: number, event: EventOf<"execution">): void {
    for (const other of this.orders.values()) {
      if (other === resting || !other.resting || other.sku !== resting.sku || other.side !== resting.side) continue;
      const crosses = other.side === "inflow" ? other.price <= limit : other.price >= limit;
      const better = other.side === "inflow" ? other.price < resting.price : other.price > resting.price;
      const aheadInLevel = other.price === resting.price && other.queuePosition < resting.queuePosition;
      if (crosses && (better || aheadInLevel)) {
        check(
          this.availableOn(other) === 0,
          () =>
            `price-time priority: execution ${event.execId} took order ${resting.orderId} (price ${resting.price}) ` +
            `while order ${other.orderId} (price ${other.price}, ${aheadInLevel ? "earlier in the same level" : "better price"}) ` +
            `still had ${this.availableOn(other)} available`,
        );
      }
    }
  }

  apply(event: EngineEvent): void {
    const e = event;
    switch (e.type) {
      case "product.added":
        this.skus.add(e.sku);
        return;
      case "account.created":
        this.accounts.add(e.accountId);
        return;
      case "wallet.deposited":
        this.netDeposits += e.amount;
        return;
      case "wallet.withdrawn":
        this.netDeposits -= e.amount;
        return;
      case "order.accepted": {
        check(
          e.orderId === this.lastOrderId + 1,
          () => `order ids must count 1, 2, 3…: got ${e.orderId} after ${this.lastOrderId}`,
        );
        this.lastOrderId = e.orderId;
        this.orders.set(e.orderId, {
          orderId: e.orderId,
          accountId: e.accountId,
          sku: e.sku,
          side: e.side,
          price: e.price,
          timeInForce: e.timeInForce,
          ordered: e.quantity,
          filled: 0,
          reduced: 0,
          cancelled: 0,
          remaining: e.quantity,
          resting: false,
          queuePosition: 0,
        });
        this.flow(e.sku, e.side).ordered += e.quantity;
        return;
      }
      case "execution": {
        check(
          e.execId === this.lastExecId + 1,
          () => `execution ids must count 1, 2, 3…: got ${e.execId} after ${this.lastExecId}`,
        );
        this.lastExecId = e.execId;
        const inflow = this.order(e.inflowOrderId, e);
        check(
          inflow.side === "inflow" && inflow.sku === e.sku,
          () => `execution ${e.execId} names a wrong inflow order`,
        );
        if (e.holdId !== null) {
          const hold = this.holds.get(e.holdId);
          check(hold?.active === true, () => `execution ${e.execId} for hold ${e.holdId}, which is not active`);
          const allocation = hold.allocations.find((a) => a.orderId === e.inflowOrderId && a.held > 0);
          check(
            allocation !== undefined && allocation.held >= e.quantity && allocation.price === e.price,
            () => `execution ${e.execId} of hold ${e.holdId} does not match an allocation still held`,
          );
          allocation.held -= e.quantity;
        } else {
          const outflow = this.order(e.outflowOrderId!, e);
          const [resting, aggressor] = e.aggressor === "inflow" ? [outflow, inflow] : [inflow, outflow];
          check(resting.resting, () => `execution ${e.execId}: the non-aggressing order must be resting`);
          if (aggressor.resting) {
            // Released held units meeting waiting demand: both rest; the older order sets the price.
            check(
              this.releasedSkus.has(e.sku) && resting.orderId < aggressor.orderId,
              () => `execution ${e.execId} between two resting orders without a release, or aggressed by the older`,
            );
            check(e.price === resting.price, () => `execution ${e.execId} is not at the older order's price`);
            check(
              e.quantity <= this.availableOn(inflow) && e.quantity <= outflow.remaining,
              () => `oversold: execution ${e.execId} takes more than is available`,
            );
          } else {
            check(e.price === resting.price, () => `execution ${e.execId} is not at the resting order's price`);
            const crosses =
              aggressor.side === "outflow" ? resting.price <= aggressor.price : resting.price >= aggressor.price;
            check(crosses, () => `execution ${e.execId} at a price that does not cross the aggressor's limit`);
            check(
              e.quantity <= this.availableOn(resting) && e.quantity <= aggressor.remaining,
              () =>
                `oversold: execution ${e.execId} takes ${e.quantity} from order ${resting.orderId} with only ` +
                `${this.availableOn(resting)} available (aggressor has ${aggressor.remaining} left)`,
            );
            this.checkPriority(resting, aggressor.price, e);
          }
          outflow.filled += e.quantity;
          outflow.remaining -= e.quantity;
          this.flow(e.sku, "outflow").executed += e.quantity;
        }
        inflow.filled += e.quantity;
        inflow.remaining -= e.quantity;
        this.flow(e.sku, "inflow").executed += e.quantity;
        for (const order of [inflow, this.orders.get(e.outflowOrderId ?? 0)]) {
          if (order && order.remaining === 0) this.orders.delete(order.orderId); // filled: gone
        }
        return;
      }
      case "order.rested": {
        const order = this.order(e.orderId, e);
        check(
          !order.resting && order.remaining === e.quantity,
          () => `order ${e.orderId} rests with the wrong quantity`,
        );
        check(order.timeInForce === "GTC", () => `${order.timeInForce} order ${e.orderId} rests`);
        order.resting = true;
        order.queuePosition = this.nextQueuePosition++;
        return;
      }
      case "order.cancelled": {
        const order = this.order(e.orderId, e);
        check(
          e.quantity === order.remaining,
          () => `order ${e.orderId} cancelled ${e.quantity} but had ${order.remaining}`,
        );
        check(this.heldOn(order.orderId) === 0, () => `order ${e.orderId} cancelled while units are held`);
        if (e.reason === "fok_unfilled" || e.reason === "ioc_remainder") {
          const expected = e.reason === "fok_unfilled" ? "FOK" : "IOC";
          check(
            order.timeInForce === expected && !order.resting,
            () => `${e.reason} for order ${e.orderId}, a ${order.timeInForce} order`,
          );
        }
        check(e.reason !== "fok_unfilled" || order.filled === 0, () => `FOK order ${e.orderId} filled in part`);
        order.cancelled += e.quantity;
        order.remaining = 0;
        this.flow(order.sku, order.side).cancelled += e.quantity;
        this.orders.delete(e.orderId);
        this.deadOrders.add(e.orderId);
        return;
      }
      case "order.reduced": {
        const order = this.order(e.orderId, e);
        check(
          order.resting && e.remaining === order.remaining - e.by,
          () => `order ${e.orderId} reduced inconsistently`,
        );
        check(e.remaining >= this.heldOn(order.orderId), () => `order ${e.orderId} reduced below its held units`);
        order.reduced += e.by;
        order.remaining = e.remaining;
        this.flow(order.sku, order.side).reduced += e.by;
        return;
      }
      case "order.replaced": {
        const order = this.order(e.orderId, e);
        check(
          order.resting && e.oldQuantity === order.remaining,
          () => `order ${e.orderId} replaced from a wrong state`,
        );
        check(this.heldOn(order.orderId) === 0, () => `order ${e.orderId} replaced while units are held`);
        const delta = e.quantity - e.oldQuantity;
        order.ordered += delta;
        order.remaining = e.quantity;
        order.price = e.price;
        order.resting = false;
        order.timeInForce = "GTC";
        this.flow(order.sku, order.side).ordered += delta;
        return;
      }
      case "hold.placed": {
        const takenHere = new Map<number, number>();
        for (const a of e.allocations) {
          const order = this.order(a.orderId, e);
          const taken = (takenHere.get(a.orderId) ?? 0) + a.quantity;
          check(
            order.resting && order.side === "inflow" && order.sku === a.sku && order.price === a.price,
            () =>
              `hold ${e.holdId} allocates from order ${a.orderId}, which is not a resting inflow of ${a.sku} at ${a.price}`,
          );
          check(
            taken <= this.availableOn(order),
            () =>
              `oversold: hold ${e.holdId} takes ${taken} of order ${a.orderId} with ${this.availableOn(order)} available`,
          );
          takenHere.set(a.orderId, taken);
        }
        const amount = e.allocations.reduce((sum, a) => sum + a.price * a.quantity, 0);
        check(amount === e.amount, () => `hold ${e.holdId}: amount ${e.amount} is not Σ price × quantity (${amount})`);
        for (const line of e.lines) {
          const allocated = e.allocations.filter((a) => a.sku === line.sku).reduce((s, a) => s + a.quantity, 0);
          const asked = e.lines.filter((l) => l.sku === line.sku).reduce((s, l) => s + l.quantity, 0);
          check(allocated === asked, () => `hold ${e.holdId}: ${allocated} allocated of ${line.sku}, ${asked} asked`);
        }
        this.holds.set(e.holdId, {
          accountId: e.accountId,
          amount: e.amount,
          allocations: e.allocations.map((a) => ({ orderId: a.orderId, sku: a.sku, price: a.price, held: a.quantity })),
          active: true,
        });
        return;
      }
      case "hold.confirmed": {
        const hold = this.holds.get(e.holdId);
        check(hold?.active === true, () => `hold ${e.holdId} confirmed but not active`);
        check(
          hold.allocations.every((a) => a.held === 0),
          () => `hold ${e.holdId} confirmed before all its units executed`,
        );
        hold.active = false;
        return;
      }
      case "hold.released": {
        const hold = this.holds.get(e.holdId);
        check(hold?.active === true, () => `hold ${e.holdId} released but not active`);
        hold.active = false;
        for (const a of hold.allocations) this.releasedSkus.add(a.sku);
        return;
      }
      default:
        return;
    }
  }

  /** Funds the events say are reserved for an account: resting outflows and active holds. */
  reservedFor(accountId: string): number {
    let reserved = 0;
    for (const o of this.orders.values())
      if (o.accountId === accountId && o.side === "outflow") reserved += o.price * o.remaining;
    for (const h of this.holds.values()) if (h.active && h.accountId === accountId) reserved += h.amount;
    return reserved;
  }
}

/** Is there stock available at or below the best outflow price (a book that should have traded)? */
function crossedByAvailableStock(depth: NonNullable<ReturnType<EngineUnderTest["depth"]>>): boolean {
  const bestOutflow = depth.outflow[0]?.price;
  if (bestOutflow === undefined) return false;
  return depth.inflow.some((level) => level.price <= bestOutflow && level.quantity - level.held > 0);
}

/** Runs one stream and checks every invariant after every command. */
function checkStream(makeEngine: () => EngineUnderTest, seed: number, length: number): void {
  const engine = makeEngine();
  const ledger = new Ledger();
  let index = 0;
  try {
    runStream(seed, { length }, (command, ts) => {
      const events = engine.execute(command, ts);
      ledger.releasedSkus.clear();
      for (const event of events) ledger.apply(event);
      checkAfterCommand(engine, ledger, events);
      index += 1;
      return events;
    });
    for (const order of ledger.orders.values()) checkOrderAccounted(engine, order);
  } catch (error) {
    if (error instanceof PropertyViolation)
      error.message = `seed ${seed}, length ${length}, command #${index}: ${error.message}`;
    throw error;
  }
}

function checkOrderAccounted(engine: EngineUnderTest, order: LedgerOrder): void {
  const live = engine.order(order.orderId);
  const remaining = live?.remaining ?? 0;
  check(
    order.filled + order.reduced + order.cancelled + remaining === order.ordered,
    () =>
      `order ${order.orderId}: filled ${order.filled} + reduced ${order.reduced} + cancelled ${order.cancelled} ` +
      `+ remaining ${remaining} != ordered ${order.ordered}`,
  );
}

function checkAfterCommand(engine: EngineUnderTest, ledger: Ledger, events: EngineEvent[]): void {
  // Orders: nothing is left in flight (IOC and FOK never rest), the engine agrees with the
  // events, and held never exceeds remaining.
  for (const order of ledger.orders.values()) {
    check(
      order.resting,
      () => `order ${order.orderId} (${order.timeInForce}) is neither resting nor gone after its command`,
    );
    const live = engine.order(order.orderId);
    check(
      live !== null && live.remaining === order.remaining && live.held === ledger.heldOn(order.orderId),
      () =>
        `order ${order.orderId}: engine says ${JSON.stringify(live)}, events say remaining ${order.remaining}, held ${ledger.heldOn(order.orderId)}`,
    );
    check(
      live.held >= 0 && live.held <= live.remaining,
      () => `order ${order.orderId}: held ${live.held} > remaining ${live.remaining}`,
    );
    checkOrderAccounted(engine, order);
  }
  for (const id of ledger.deadOrders) {
    if (engine.order(id) !== null) check(false, () => `cancelled order ${id} is still live`);
  }

  for (const sku of ledger.skus) {
    const stock = engine.stock(sku) ?? { available: 0, held: 0, onHand: 0, demand: 0 };
    check(stock.available >= 0 && stock.held >= 0, () => `${sku}: negative stock ${JSON.stringify(stock)}`);
    check(stock.onHand === stock.available + stock.held, () => `${sku}: on hand is not available + held`);

    // Units are conserved: every unit offered is on hand, executed, cancelled or reduced away.
    const inflow = ledger.flow(sku, "inflow");
    check(
      inflow.ordered === stock.onHand + inflow.executed + inflow.cancelled + inflow.reduced,
      () =>
        `${sku}: units not conserved: received ${inflow.ordered} != on hand ${stock.onHand} + executed ${inflow.executed} ` +
        `+ cancelled ${inflow.cancelled} + reduced ${inflow.reduced}`,
    );
    const outflow = ledger.flow(sku, "outflow");
    check(
      outflow.ordered === stock.demand + outflow.executed + outflow.cancelled + outflow.reduced,
      () => `${sku}: demand not conserved: ${JSON.stringify(outflow)} vs demand ${stock.demand}`,
    );

    const depth = engine.depth(sku);
    if (!depth) continue;
    for (const level of [...depth.inflow, ...depth.outflow]) {
      check(
        level.held >= 0 && level.held <= level.quantity,
        () => `${sku}: level ${level.price} holds more than it has`,
      );
    }
    // No available stock ever crosses waiting demand: matching takes it, and units a hold gives
    // back meet the demand that waited for them.
    check(!crossedByAvailableStock(depth), () => `${sku}: the book is crossed: ${JSON.stringify(depth)}`);
  }

  // An order that just rested crosses nothing it could have traded with.
  for (const e of events) {
    if (e.type !== "order.rested" || !ledger.orders.get(e.orderId)?.resting) continue;
    const depth = engine.depth(e.sku)!;
    const tradable =
      e.side === "outflow"
        ? depth.inflow.some((l) => l.price <= e.price && l.quantity - l.held > 0)
        : depth.outflow.some((l) => l.price >= e.price);
    check(!tradable, () => `order ${e.orderId} rested at ${e.price} although the other side could trade with it`);
  }

  // Funds are conserved, and reservations are exactly what lives on the book and in holds.
  let balances = 0;
  for (const id of ledger.accounts) {
    const account = engine.account(id)!;
    balances += account.balance;
    check(
      account.reserved >= 0 && account.reserved <= account.balance,
      () => `${id}: reserved ${account.reserved} outside [0, balance ${account.balance}]`,
    );
    check(
      account.reserved === ledger.reservedFor(id),
      () =>
        `${id}: reserved ${account.reserved}, but resting outflows and active holds add up to ${ledger.reservedFor(id)}`,
    );
  }
  check(
    balances === ledger.netDeposits,
    () => `funds not conserved: Σ balances ${balances} != deposits - withdrawals ${ledger.netDeposits}`,
  );
}

const engines: [string, () => EngineUnderTest][] = [
  ["fast engine", () => new Engine()],
  ["reference engine", () => new ReferenceEngine()],
];

describe.each(engines)("invariants of the %s", (_name, makeEngine) => {
  it("hold after every command of random streams", () => {
    fc.assert(
      fc.property(streamSeedArbitrary(200), ({ seed, length }) => checkStream(makeEngine, seed, length)),
      { numRuns: NUM_RUNS, seed: FC_SEED },
    );
  });
});
