/**
 * Engine benchmark: a seeded mixed workload (limit GTC/IOC/FOK on both sides, cancels, reduces,
 * holds, ticks) over 100 skus with ~1K resting orders, and an identical limit+cancel flow through
 * both our engine and nodejs-order-book.
 *
 * Every command is generated before anything is timed. The generator drives a shadow `Engine`
 * and follows its events, so cancels and reduces target orders that are resting (and not held),
 * holds ask for stock that is there, and confirmations name holds that are active; the timed runs
 * then replay the same commands on fresh engines, which are deterministic, so they see exactly
 * the states the generator saw (checked: replays end on the generator's digest). Timestamps
 * strictly increase.
 *
 * Throughput is timed over whole loops (median of several rounds, each on a fresh engine set up
 * untimed); latency in a separate pass with `process.hrtime.bigint()` around each `execute`,
 * recorded in nanoseconds into an HDR histogram per command type. The limit+cancel flow runs
 * through nodejs-order-book too (one `OrderBook` per sku; inflow = sell, outflow = buy, the same
 * order ids, prices, sizes and time in force), and both must end with identical books.
 *
 * `npm run bench -- engine [--quick] [--seed=<n>]`; the last line of stdout is
 * {"bench":"engine","ops_per_s":…,"peer_ops_per_s":…,"ratio":…,"p99_us":…}.
 */

import { availableParallelism, cpus, loadavg } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Command, EngineEvent, HoldAllocation, Side as OurSide, TimeInForce } from "@stockroom/contracts";
import { Engine } from "@stockroom/engine";
import { build, type Histogram } from "hdr-histogram-js";
import { type LimitOrderOptions, OrderBook, Side as PeerSide } from "nodejs-order-book";

const DEFAULT_SEED = 0x5eed_2025;
const SKUS = 100;
const BRANDS = 8;
const TRADERS = 40;
const KIOSKS = 10;
/** Resting orders the workload keeps the book at (across all skus). */
const TARGET_RESTING = 1_000;
const BIG_LIMIT = 1_000_000_000;
const DEPOSIT = 1_000_000_000_000;
/** Monday 2025-01-06 08:00 UTC: the workload stays well inside one trading day. */
const START_TS = Date.UTC(2025, 0, 6, 8, 0, 0);

interface Sizes {
  /** Commands in the timed part of each workload. */
  commands: number;
  rounds: number;
  warmups: number;
}
const FULL: Sizes = { commands: 500_000, rounds: 5, warmups: 2 };
const QUICK: Sizes = { commands: 150_000, rounds: 3, warmups: 1 };

// ---------------------------------------------------------------------------------------------
// Deterministic PRNG (sfc32 seeded through splitmix32).

class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 16; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t / 4294967296;
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

// ---------------------------------------------------------------------------------------------
// The generated workload.

/** Latency rows: command types, with order placement split by time in force. */
const LABELS = [
  "order.place GTC",
  "order.place IOC",
  "order.place FOK",
  "order.cancel",
  "order.reduce",
  "hold.place",
  "hold.confirm",
  "hold.cancel",
  "tick",
] as const;
type Label = (typeof LABELS)[number];

interface Batch {
  commands: Command[];
  ts: number[];
}

/** One nodejs-order-book operation, mirroring one of our commands. */
interface PeerOp {
  book: number;
  /** Set for a limit order, null for a cancel. */
  limit: LimitOrderOptions | null;
  /** The order to cancel (unused for a limit). */
  id: string;
}

interface Workload {
  /** Configuration, products, accounts and the initial book: run untimed before each measurement. */
  setup: Batch;
  measured: Batch;
  /** Index into LABELS per measured command. */
  labels: Uint8Array;
  /** Per label: how many commands, and how many were rejected while generating. */
  counts: number[];
  rejected: number[];
  resting: { min: number; max: number; mean: number; end: number };
  executions: number;
  holdsExpired: number;
  /** The same flow as nodejs-order-book operations (only when generated `withPeer`). */
  peerSetup: PeerOp[];
  peerMeasured: PeerOp[];
  /** The shadow engine's digest at the end, which every replay must reproduce. */
  digest: string;
}

interface Resting {
  id: number;
  /** Index of its sku. */
  sku: number;
  accountId: string;
  remaining: number;
  held: number;
  /** Position in the generator's pick list. */
  slot: number;
}

interface TrackedHold {
  holdId: string;
  accountId: string;
  allocations: HoldAllocation[];
  /** Position in the pending list while the generator means to resolve it, else -1. */
  slot: number;
}

/** Follows the shadow engine's events: resting orders (with held units) and active holds. */
class Tracker {
  readonly resting = new Map<number, Resting>();
  readonly restingList: Resting[] = [];
  readonly holds = new Map<string, TrackedHold>();
  readonly pending: TrackedHold[] = [];
  executions = 0;
  holdsExpired = 0;
  lastOrderId = 0;

  constructor(private readonly skuIndex: ReadonlyMap<string, number>) {}

  apply(events: EngineEvent[]): void {
    for (const e of events) {
      switch (e.type) {
        case "order.accepted":
          this.lastOrderId = e.orderId;
          break;
        case "order.rested": {
          const r: Resting = {
            id: e.orderId,
            sku: this.skuIndex.get(e.sku)!,
            accountId: "",
            remaining: e.quantity,
            held: 0,
            slot: 0,
          };
          this.addResting(r);
          break;
        }
        case "execution": {
          this.executions++;
          if (e.outflowOrderId === null) {
            const inflow = this.resting.get(e.inflowOrderId)!;
            inflow.held -= e.quantity;
            this.fill(inflow, e.quantity);
          } else {
            const inflow = this.resting.get(e.inflowOrderId);
            const outflow = this.resting.get(e.outflowOrderId);
            if (inflow) this.fill(inflow, e.quantity);
            if (outflow) this.fill(outflow, e.quantity);
          }
          break;
        }
        case "order.cancelled": {
          const r = this.resting.get(e.orderId);
          if (r) this.removeResting(r);
          break;
        }
        case "order.reduced":
          this.resting.get(e.orderId)!.remaining = e.remaining;
          break;
        case "hold.placed": {
          const hold: TrackedHold = { holdId: e.holdId, accountId: e.accountId, allocations: e.allocations, slot: -1 };
          this.holds.set(hold.holdId, hold);
          for (const a of e.allocations) this.resting.get(a.orderId)!.held += a.quantity;
          break;
        }
        case "hold.released": {
          const hold = this.holds.get(e.holdId)!;
          for (const a of hold.allocations) this.resting.get(a.orderId)!.held -= a.quantity;
          if (e.reason === "expired") this.holdsExpired++;
          this.finishHold(hold);
          break;
        }
        case "hold.confirmed":
          this.finishHold(this.holds.get(e.holdId)!);
          break;
        default:
          break;
      }
    }
  }

  private fill(r: Resting, quantity: number): void {
    r.remaining -= quantity;
    if (r.remaining === 0) this.removeResting(r);
  }

  private addResting(r: Resting): void {
    r.slot = this.restingList.length;
    this.restingList.push(r);
    this.resting.set(r.id, r);
  }

  private removeResting(r: Resting): void {
    const last = this.restingList.pop()!;
    if (last !== r) {
      last.slot = r.slot;
      this.restingList[r.slot] = last;
    }
    this.resting.delete(r.id);
  }

  track(hold: TrackedHold): void {
    hold.slot = this.pending.length;
    this.pending.push(hold);
  }

  private finishHold(hold: TrackedHold): void {
    this.holds.delete(hold.holdId);
    if (hold.slot >= 0) {
      const last = this.pending.pop()!;
      if (last !== hold) {
        last.slot = hold.slot;
        this.pending[hold.slot] = last;
      }
      hold.slot = -1;
    }
  }
}

interface Mix {
  /** Per-command probabilities; the rest are limit orders (and cancels, see below). */
  tick: number;
  holdPlace: number;
  holdResolve: number;
  reduce: number;
}
const MIXED: Mix = { tick: 0.01, holdPlace: 0.08, holdResolve: 0.09, reduce: 0.05 };
const LIMIT_CANCEL: Mix = { tick: 0, holdPlace: 0, holdResolve: 0, reduce: 0 };

const skuName = (i: number): string => `SKU-${String(i).padStart(3, "0")}`;
const traderName = (i: number): string => `trader-${String(i).padStart(2, "0")}`;
const kioskName = (i: number): string => `kiosk-${String(i).padStart(2, "0")}`;

/** Builds one workload: a shadow engine runs every command as it is generated. */
function generate(seed: number, mix: Mix, measuredCount: number, withPeer: boolean): Workload {
  const rng = new Rng(seed);
  const engine = new Engine();
  const traders = Array.from({ length: TRADERS }, (_, i) => traderName(i));
  const kiosks = Array.from({ length: KIOSKS }, (_, i) => kioskName(i));
  const skus = Array.from({ length: SKUS }, (_, i) => skuName(i));
  const tracker = new Tracker(new Map(skus.map((s, i) => [s, i])));
  /** Mid prices (minor units) between 5.00 and 150.00. */
  const mids = skus.map(() => rng.int(500, 15_000));

  const setup: Batch = { commands: [], ts: [] };
  const measured: Batch = { commands: [], ts: [] };
  const labels = new Uint8Array(measuredCount);
  const counts = LABELS.map(() => 0);
  const rejected = LABELS.map(() => 0);
  const peerSetup: PeerOp[] = [];
  const peerMeasured: PeerOp[] = [];
  let ts = START_TS;
  let timed = false;
  let holdSeq = 0;
  const restingStats = { min: Number.POSITIVE_INFINITY, max: 0, sum: 0 };

  const run = (command: Command, label: Label | null, peer: PeerOp | null): EngineEvent[] => {
    const batch = timed ? measured : setup;
    batch.commands.push(command);
    batch.ts.push(ts);
    const events = engine.execute(command, ts);
    tracker.apply(events);
    if (timed && label !== null) {
      const l = LABELS.indexOf(label);
      labels[batch.commands.length - 1] = l;
      counts[l]!++;
      if (events.some((e) => e.type === "command.rejected")) rejected[l]!++;
    } else if (events.some((e) => e.type === "command.rejected")) {
      throw new Error(`setup command rejected: ${JSON.stringify(events)}`);
    }
    if (peer && withPeer) (timed ? peerMeasured : peerSetup).push(peer);
    ts += 1 + (rng.next() < 0.1 ? rng.int(1, 5) : 0);
    return events;
  };

  const placeOrder = (sku: number, side: OurSide, tif: TimeInForce, offset: number, quantity: number): void => {
    const accountId = rng.pick(traders);
    // Inflows (asks) sit above the mid, outflows (bids) below; a negative offset crosses.
    const price = Math.max(1, side === "inflow" ? mids[sku]! + offset : mids[sku]! - offset);
    const command: Command = {
      type: "order.place",
      accountId,
      sku: skus[sku]!,
      side,
      price,
      quantity,
      timeInForce: tif,
      reason: side === "inflow" ? "received" : "sale",
      reference: null,
    };
    const before = tracker.lastOrderId;
    const label: Label = `order.place ${tif}`;
    // The order id is the next one the engine hands out; filled in below once accepted.
    const peer: PeerOp = {
      book: sku,
      limit: {
        id: "",
        side: side === "inflow" ? PeerSide.SELL : PeerSide.BUY,
        size: quantity,
        price,
        timeInForce: tif as LimitOrderOptions["timeInForce"],
      },
      id: "",
    };
    run(command, label, peer);
    if (tracker.lastOrderId === before) throw new Error(`order not accepted: ${JSON.stringify(command)}`);
    peer.limit!.id = String(tracker.lastOrderId);
    const resting = tracker.resting.get(tracker.lastOrderId);
    if (resting) resting.accountId = accountId;
  };

  /** Limit orders cluster around the mid: GTC mostly passive, IOC and FOK mostly aggressive. */
  const randomOrder = (): void => {
    const sku = rng.int(0, SKUS - 1);
    const side: OurSide = rng.next() < 0.5 ? "inflow" : "outflow";
    const r = rng.next();
    if (r < 0.7) placeOrder(sku, side, "GTC", rng.int(0, 6) + rng.int(0, 6) - 3, rng.int(1, 20));
    else placeOrder(sku, side, r < 0.9 ? "IOC" : "FOK", rng.int(-6, 2), rng.int(1, 10));
  };

  /** A resting order matching `ok`, or null after a few misses. */
  const pickResting = (ok: (r: Resting) => boolean): Resting | null => {
    const list = tracker.restingList;
    for (let tries = 0; tries < 8 && list.length > 0; tries++) {
      const r = list[rng.int(0, list.length - 1)]!;
      if (ok(r)) return r;
    }
    return null;
  };

  const cancel = (): boolean => {
    const r = pickResting((o) => o.held === 0);
    if (!r) return false;
    run({ type: "order.cancel", accountId: r.accountId, orderId: r.id }, "order.cancel", {
      book: r.sku,
      limit: null,
      id: String(r.id),
    });
    return true;
  };

  const reduce = (): boolean => {
    const r = pickResting((o) => o.remaining - o.held >= 2);
    if (!r) return false;
    const by = rng.int(1, Math.min(5, r.remaining - r.held - 1));
    run({ type: "order.reduce", accountId: r.accountId, orderId: r.id, by }, "order.reduce", null);
    return true;
  };

  const placeHold = (): boolean => {
    const lineCount = rng.int(1, 3);
    const lines: { sku: string; quantity: number; limitPrice: number | null }[] = [];
    const used = new Set<number>();
    for (let tries = 0; tries < 10 && lines.length < lineCount; tries++) {
      const sku = rng.int(0, SKUS - 1);
      if (used.has(sku)) continue;
      const quantity = rng.int(1, 3);
      const withLimit = rng.next() < 0.3;
      const limitPrice = withLimit ? mids[sku]! + rng.int(0, 8) : null;
      let available = 0;
      for (const level of engine.depth(skus[sku]!)!.inflow) {
        if (limitPrice !== null && level.price > limitPrice) break;
        available += level.quantity - level.held;
      }
      if (available < quantity) continue;
      used.add(sku);
      lines.push({ sku: skus[sku]!, quantity, limitPrice });
    }
    if (lines.length === 0) return false;
    const accountId = rng.pick(kiosks);
    const abandoned = rng.next() < 0.04;
    const holdId = `hold-${++holdSeq}`;
    const events = run(
      {
        type: "hold.place",
        holdId,
        accountId,
        lines,
        ttlMs: abandoned ? rng.int(500, 3_000) : 60_000,
        reason: "sale",
        reference: null,
      },
      "hold.place",
      null,
    );
    const hold = tracker.holds.get(holdId);
    if (!hold && !events.some((e) => e.type === "command.rejected")) throw new Error(`hold ${holdId} not placed`);
    if (hold && !abandoned) tracker.track(hold);
    return true;
  };

  const resolveHold = (): boolean => {
    if (tracker.pending.length === 0) return false;
    const hold = rng.pick(tracker.pending);
    if (rng.next() < 0.85) {
      run({ type: "hold.confirm", holdId: hold.holdId, accountId: hold.accountId }, "hold.confirm", null);
    } else {
      run({ type: "hold.cancel", holdId: hold.holdId, accountId: hold.accountId }, "hold.cancel", null);
    }
    return true;
  };

  // Setup: the outlet, products over several brands, verified accounts with big deposits.
  const brandLimits: Record<string, number> = {};
  for (let b = 0; b < BRANDS; b++) brandLimits[`brand-${b}`] = BIG_LIMIT;
  run(
    {
      type: "outlet.configure",
      timezone: "UTC",
      tradingHours: null,
      defaultDailyLimit: BIG_LIMIT,
      brandLimits,
    },
    null,
    null,
  );
  for (let i = 0; i < SKUS; i++) {
    run(
      {
        type: "product.add",
        sku: skus[i]!,
        name: `Product ${i}`,
        brand: `brand-${i % BRANDS}`,
        attributes: { size: ["S", "M", "L"][i % 3]! },
      },
      null,
      null,
    );
  }
  for (const [accountId, role] of [
    ...traders.map((id) => [id, "service"] as const),
    ...kiosks.map((id) => [id, "kiosk"] as const),
  ]) {
    run({ type: "account.create", accountId, role, name: accountId }, null, null);
    run({ type: "account.kyc", accountId, kyc: "verified" }, null, null);
    run({ type: "wallet.deposit", accountId, amount: DEPOSIT }, null, null);
  }
  // The initial book: ~TARGET_RESTING passive orders, half each side, none crossing.
  for (let i = 0; i < TARGET_RESTING; i++) {
    placeOrder(i % SKUS, i % 2 === 0 ? "inflow" : "outflow", "GTC", rng.int(1, 10), rng.int(5, 30));
  }

  // The measured workload: cancels lean against the resting count to hold it near the target.
  timed = true;
  while (measured.commands.length < measuredCount) {
    const restingNow = tracker.resting.size;
    const pCancel = Math.min(0.6, Math.max(0.02, 0.25 * (restingNow / TARGET_RESTING) ** 4));
    const r = rng.next();
    let done = false;
    if (r < mix.tick) {
      ts += 250;
      run({ type: "tick" }, "tick", null);
      done = true;
    } else if (r < mix.tick + mix.holdPlace) done = placeHold();
    else if (r < mix.tick + mix.holdPlace + mix.holdResolve) done = resolveHold();
    else if (r < mix.tick + mix.holdPlace + mix.holdResolve + mix.reduce) done = reduce();
    else if (rng.next() < pCancel) done = cancel();
    if (!done) randomOrder();
    const n = tracker.resting.size;
    restingStats.min = Math.min(restingStats.min, n);
    restingStats.max = Math.max(restingStats.max, n);
    restingStats.sum += n;
  }

  // The tracker must agree with the engine's own view of the books.
  let engineResting = 0;
  for (const sku of skus) {
    const depth = engine.depth(sku)!;
    for (const level of [...depth.inflow, ...depth.outflow]) engineResting += level.orders;
  }
  if (engineResting !== tracker.resting.size) {
    throw new Error(
      `generator lost track: engine has ${engineResting} resting orders, tracker ${tracker.resting.size}`,
    );
  }

  return {
    setup,
    measured,
    labels,
    counts,
    rejected,
    resting: {
      min: restingStats.min,
      max: restingStats.max,
      mean: restingStats.sum / measuredCount,
      end: tracker.resting.size,
    },
    executions: tracker.executions,
    holdsExpired: tracker.holdsExpired,
    peerSetup,
    peerMeasured,
    digest: engine.digest(),
  };
}

// ---------------------------------------------------------------------------------------------
// Runners.

/** Keeps results alive so no loop can be optimised away. */
let sink = 0;

function replay(engine: Engine, batch: Batch): void {
  const { commands, ts } = batch;
  for (let i = 0; i < commands.length; i++) engine.execute(commands[i]!, ts[i]!);
}

interface Timing {
  seconds: number;
  /** Process CPU time over wall time: well under 1 when other work took the CPU from us. */
  cpuShare: number;
}

/**
 * Wall time (and CPU share) of `body`. No forced collection before it: a full `gc()` shrinks
 * V8's young generation and made every engine measurably slower in the next seconds, so each
 * run meets the heap the way a running service would.
 */
function timed(body: () => number): Timing {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  sink += body();
  const t1 = process.hrtime.bigint();
  const cpu = process.cpuUsage(cpu0);
  const seconds = Number(t1 - t0) / 1e9;
  return { seconds, cpuShare: (cpu.user + cpu.system) / 1e6 / seconds };
}

/** Runs the measured commands on a fresh engine set up (untimed) by `w.setup`. */
function timeOurs(w: Workload): Timing {
  const engine = new Engine();
  replay(engine, w.setup);
  const { commands, ts } = w.measured;
  const n = commands.length;
  return timed(() => {
    let events = 0;
    for (let i = 0; i < n; i++) events += engine.execute(commands[i]!, ts[i]!).length;
    return events;
  });
}

function peerBooks(w: Workload): OrderBook[] {
  const books = Array.from({ length: SKUS }, () => new OrderBook());
  runPeer(books, w.peerSetup);
  return books;
}

function runPeer(books: OrderBook[], ops: PeerOp[]): number {
  let done = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const book = books[op.book]!;
    if (op.limit === null) {
      if (book.cancel(op.id) !== undefined) done++;
    } else done += book.limit(op.limit).done.length;
  }
  return done;
}

/** Runs the measured flow through nodejs-order-book, one book per sku set up (untimed) by the setup flow. */
function timePeer(w: Workload): Timing {
  const books = peerBooks(w);
  const ops = w.peerMeasured;
  return timed(() => runPeer(books, ops));
}

/**
 * The limit+cancel flow must leave both engines with the same books, or the comparison would
 * not be of like with like. Returns the skus that differ.
 */
function compareBooks(w: Workload): string[] {
  const engine = new Engine();
  replay(engine, w.setup);
  replay(engine, w.measured);
  if (engine.digest() !== w.digest) throw new Error("replaying the limit+cancel flow gave another state");
  const books = peerBooks(w);
  runPeer(books, w.peerMeasured);
  const differ: string[] = [];
  for (let i = 0; i < SKUS; i++) {
    const ours = engine.depth(skuName(i))!;
    const [asks, bids] = books[i]!.depth();
    const key = (levels: Array<[number, number]>): string =>
      levels
        .map(([p, q]) => `${p}:${q}`)
        .sort()
        .join(",");
    const oursAsks = key(ours.inflow.map((l) => [l.price, l.quantity]));
    const oursBids = key(ours.outflow.map((l) => [l.price, l.quantity]));
    if (oursAsks !== key(asks) || oursBids !== key(bids)) differ.push(skuName(i));
  }
  return differ;
}

interface LatencyRow {
  label: string;
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

const newHistogram = (): Histogram =>
  build({ lowestDiscernibleValue: 1, highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: 3 });

/** One pass with `process.hrtime.bigint()` around each execute; nanoseconds into HDR histograms. */
function latencyPass(w: Workload): { rows: LatencyRow[]; overall: LatencyRow } {
  const perLabel = LABELS.map(() => newHistogram());
  const all = newHistogram();
  const engine = new Engine();
  replay(engine, w.setup);
  const { commands, ts } = w.measured;
  const labels = w.labels;
  for (let i = 0; i < commands.length; i++) {
    const t0 = process.hrtime.bigint();
    const events = engine.execute(commands[i]!, ts[i]!);
    const ns = Number(process.hrtime.bigint() - t0);
    sink += events.length;
    perLabel[labels[i]!]!.recordValue(ns);
    all.recordValue(ns);
  }
  const row = (label: string, h: Histogram): LatencyRow => ({
    label,
    count: h.totalCount,
    p50: h.getValueAtPercentile(50) / 1000,
    p99: h.getValueAtPercentile(99) / 1000,
    p999: h.getValueAtPercentile(99.9) / 1000,
    max: h.maxValue / 1000,
    mean: h.mean / 1000,
  });
  if (engine.digest() !== w.digest) throw new Error("replaying the mixed workload gave another state");
  const rows = LABELS.map((l, i) => row(l, perLabel[i]!)).filter((r) => r.count > 0);
  const overall = row("all", all);
  for (const h of [...perLabel, all]) h.destroy();
  return { rows, overall };
}

/** Median cost of one `process.hrtime.bigint()` pair, in nanoseconds. */
function timerOverhead(): number {
  const samples: number[] = [];
  for (let i = 0; i < 100_000; i++) {
    const t0 = process.hrtime.bigint();
    samples.push(Number(process.hrtime.bigint() - t0));
  }
  return median(samples);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

// ---------------------------------------------------------------------------------------------
// Output.

const fmtInt = (n: number): string => Math.round(n).toLocaleString("en-US");
const fmtUs = (n: number): string => n.toFixed(n < 10 ? 2 : 1);

function table(head: string[], rows: string[][], alignLeft = 1): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < alignLeft ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const startedAt = performance.now();

function progress(message: string): void {
  const at = ((performance.now() - startedAt) / 1000).toFixed(1);
  process.stderr.write(`[bench engine ${at.padStart(5)} s] ${message}\n`);
}

export interface EngineBenchOptions {
  /** A short run: fewer commands and rounds, under 30 s. */
  quick: boolean;
  seed?: number;
}

export function main(options: EngineBenchOptions): void {
  const quick = options.quick;
  const sizes = quick ? QUICK : FULL;
  const loadAtStart = loadavg();
  const seed = (options.seed ?? DEFAULT_SEED) >>> 0;

  progress(`generating workloads (seed ${seed}, ${fmtInt(sizes.commands)} commands each)`);
  const mixed = generate(seed, MIXED, sizes.commands, false);
  const flow = generate(seed ^ 0x1c0ffee, LIMIT_CANCEL, sizes.commands, true);

  progress(
    `generated; heap ${fmtInt(process.memoryUsage().heapUsed / 2 ** 20)} MB. ` +
      "Checking that the limit+cancel flow leaves identical books in both engines",
  );
  if (flow.peerMeasured.length !== flow.measured.commands.length || flow.peerSetup.length !== TARGET_RESTING) {
    throw new Error("the nodejs-order-book flow does not mirror our limit+cancel flow one to one");
  }
  const differ = compareBooks(flow);
  if (differ.length > 0) {
    throw new Error(`the limit+cancel flow diverges between the engines on ${differ.length} skus: ${differ.join(" ")}`);
  }

  for (let i = 1; i <= sizes.warmups; i++) {
    progress(`warm-up ${i}/${sizes.warmups}`);
    timeOurs(mixed);
    timeOurs(flow);
    timePeer(flow);
  }

  const oursMixed: Timing[] = [];
  const oursFlow: Timing[] = [];
  const peerFlow: Timing[] = [];
  for (let i = 1; i <= sizes.rounds; i++) {
    progress(`throughput round ${i}/${sizes.rounds}`);
    oursMixed.push(timeOurs(mixed));
    oursFlow.push(timeOurs(flow));
    peerFlow.push(timePeer(flow));
  }
  const rate = (n: number, ts: Timing[]): number[] => ts.map((t) => n / t.seconds);
  const oursMixedRates = rate(mixed.measured.commands.length, oursMixed);
  const oursFlowRates = rate(flow.measured.commands.length, oursFlow);
  const peerFlowRates = rate(flow.peerMeasured.length, peerFlow);

  // The first pass warms up the recording path too; the second is the one reported.
  progress("latency pass (warm-up)");
  latencyPass(mixed);
  progress("latency pass");
  const latency = latencyPass(mixed);
  const overhead = timerOverhead();

  const opsPerS = median(oursMixedRates);
  const flowOpsPerS = median(oursFlowRates);
  const peerOpsPerS = median(peerFlowRates);
  const ratio = flowOpsPerS / peerOpsPerS;
  const elapsed = (performance.now() - startedAt) / 1000;

  const out: string[] = [];
  out.push(
    `engine benchmark${quick ? " (quick)" : ""}: seed ${seed}, ${SKUS} skus over ${BRANDS} brands, ` +
      `${TRADERS} traders + ${KIOSKS} kiosks`,
  );
  out.push(
    `machine: ${availableParallelism()} cpus (${cpus()[0]?.model.trim() ?? "unknown"}), node ${process.version}, ` +
      `load average ${loadAtStart[0]!.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at the end`,
  );
  if (Math.max(loadAtStart[0]!, loadavg()[0]!) > availableParallelism() / 2) {
    out.push("note: the machine was busy with other work, so these figures are noisy (see the spread of the rounds)");
  }
  out.push(
    `mixed workload: ${fmtInt(mixed.measured.commands.length)} timed commands after ` +
      `${fmtInt(mixed.setup.commands.length)} untimed setup ones; resting orders ` +
      `min ${fmtInt(mixed.resting.min)} / mean ${fmtInt(mixed.resting.mean)} / max ${fmtInt(mixed.resting.max)}; ` +
      `${fmtInt(mixed.executions)} executions, ${fmtInt(mixed.holdsExpired)} holds expired`,
  );
  out.push("");
  const total = mixed.measured.commands.length;
  out.push(
    table(
      ["command", "count", "share", "rejected"],
      LABELS.map((label, i) => [
        label,
        fmtInt(mixed.counts[i]!),
        `${((100 * mixed.counts[i]!) / total).toFixed(1)}%`,
        fmtInt(mixed.rejected[i]!),
      ]),
    ),
  );
  out.push("");
  out.push(
    `limit+cancel flow: ${fmtInt(flow.measured.commands.length)} timed commands ` +
      `(${fmtInt(flow.counts.slice(0, 3).reduce((a, b) => a + b, 0))} limit orders, ` +
      `${fmtInt(flow.counts[3]!)} cancels) after ${fmtInt(TARGET_RESTING)} resting ones; resting orders ` +
      `mean ${fmtInt(flow.resting.mean)}; both engines end with identical books on all ${SKUS} skus`,
  );
  out.push("");
  out.push(
    `throughput, median of ${sizes.rounds} rounds (each on a fresh engine, after ${sizes.warmups} warm-up round${sizes.warmups > 1 ? "s" : ""}):`,
  );
  const rounds = (xs: number[]): string => xs.map((x) => fmtInt(x)).join(" ");
  const share = (ts: Timing[]): string => ts.map((t) => t.cpuShare.toFixed(2)).join(" ");
  out.push(
    table(
      ["run", "ops/s (median)", "ops/s per round", "cpu/wall per round"],
      [
        ["ours, mixed workload", fmtInt(opsPerS), rounds(oursMixedRates), share(oursMixed)],
        ["ours, limit+cancel flow", fmtInt(flowOpsPerS), rounds(oursFlowRates), share(oursFlow)],
        ["nodejs-order-book, limit+cancel flow", fmtInt(peerOpsPerS), rounds(peerFlowRates), share(peerFlow)],
        ["ratio ours/peer, limit+cancel flow", `${ratio.toFixed(2)}x`, "", ""],
      ],
    ),
  );
  out.push("");
  out.push(
    `latency of the mixed workload, one pass, µs (process.hrtime.bigint() around each execute, ` +
      `timer overhead ~${overhead} ns included):`,
  );
  out.push(
    table(
      ["command", "count", "mean", "p50", "p99", "p99.9", "max"],
      [...latency.rows, latency.overall].map((r) => [
        r.label,
        fmtInt(r.count),
        fmtUs(r.mean),
        fmtUs(r.p50),
        fmtUs(r.p99),
        fmtUs(r.p999),
        fmtUs(r.max),
      ]),
    ),
  );
  out.push("");
  out.push(`took ${elapsed.toFixed(1)} s (checksum ${sink % 1_000_003})`);
  console.log(out.join("\n"));
  console.log(
    JSON.stringify({
      bench: "engine",
      ops_per_s: Math.round(opsPerS),
      peer_ops_per_s: Math.round(peerOpsPerS),
      ratio: Number(ratio.toFixed(3)),
      p99_us: Number(latency.overall.p99.toFixed(2)),
    }),
  );
}

const USAGE = "usage: npm run bench -- engine [--quick] [--seed=<n>]  (or node --import tsx bench/engine.ts ...)";

/**
 * `--quick` and `--seed=<n>`; null for a bad seed or a stray argument. Other flags are ignored
 * with a warning, as `npm run bench` with no name passes every benchmark the same flags.
 */
function parseArgs(argv: string[]): EngineBenchOptions | null {
  const options: EngineBenchOptions = { quick: false };
  for (const arg of argv) {
    const seed = /^--seed=(\d+)$/.exec(arg)?.[1];
    if (arg === "--quick") options.quick = true;
    else if (seed !== undefined && Number(seed) <= 0xffff_ffff) options.seed = Number(seed);
    else if (arg.startsWith("--seed") || !arg.startsWith("--")) return null;
    else progress(`ignoring ${arg} (not an engine benchmark flag)`);
  }
  return options;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const options = parseArgs(process.argv.slice(2));
  if (options) main(options);
  else {
    console.error(USAGE);
    process.exitCode = 2;
  }
}
