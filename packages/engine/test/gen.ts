/**
 * Seeded random command streams for the engine: the same seed always gives the same stream.
 *
 * Streams look like a real outlet's day(s): configure, list a few products over a few brands,
 * open a few accounts (some never verified, some suspended) and fund them, then a busy mix of
 * orders (prices clustered so books cross), cancels/reduces/replaces (of live and unknown ids),
 * multi-line holds with their extend/confirm/cancel (repeats included), withdrawals, catalog
 * changes and ticks — with time moving irregularly, sometimes by hours or days, so holds expire,
 * finished holds are forgotten and trading days roll over.
 *
 * Two ways to use it:
 * - `generateStream(seed)`: a fixed list, written blind (order ids are guessed), for benchmarks
 *   and anything that wants the commands up front.
 * - `runStream(seed, options, execute)`: the generator reads the answers like a real caller does
 *   (the ids of its orders, which holds are alive), so cancels, reduces, replaces and hold
 *   confirmations mostly hit something real. Deterministic as long as `execute` is.
 *
 * Commands come out in their parsed form (defaults filled), as `Engine.execute` expects.
 */
import {
  type Command,
  type CommandOf,
  type EngineEvent,
  MAX_AMOUNT,
  MAX_HOLD_TTL_MS,
  MAX_QUANTITY,
  type ReasonCode,
  type Role,
  type Side,
  type TimeInForce,
  type TradingHours,
} from "@stockroom/contracts";
import fc from "fast-check";

export interface TimedCommand {
  command: Command;
  ts: number;
}

export interface StreamOptions {
  /** Commands after the setup (configure, products, accounts, deposits). Default 150. */
  length?: number;
  /** Occasionally stamp a command slightly earlier than the one before (the engine uses max). Default true. */
  clockSkew?: boolean;
  /** Let a later `outlet.configure` pick another timezone (trading dates can then jump back). Default true. */
  timezoneChanges?: boolean;
  /** Let books grow: fewer cancels, no delisting, mostly GTC, prices spread over more levels. Default false. */
  deepBooks?: boolean;
}

/** mulberry32: tiny, fast and good enough to drive a generator; fully determined by the seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

class Dice {
  constructor(private readonly next: () => number) {}
  /** Integer in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  /** Picks a key with probability proportional to its weight. */
  weighted<K extends string>(weights: Record<K, number>): K {
    let total = 0;
    for (const key in weights) total += weights[key];
    let roll = this.next() * total;
    let last = "" as K;
    for (const key in weights) {
      roll -= weights[key];
      if (roll < 0) return key;
      last = key;
    }
    return last;
  }
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const TIMEZONES = ["UTC", "Europe/London", "America/New_York", "Asia/Kolkata", "Australia/Sydney", "Pacific/Chatham"];
/** Starting points; two sit just before daylight-saving changes, one on New Year's Eve. */
const STARTS = [
  Date.UTC(2024, 2, 30, 22, 0), // Europe springs forward the next night
  Date.UTC(2024, 10, 2, 20, 0), // the US falls back the next night
  Date.UTC(2024, 11, 31, 21, 30),
  Date.UTC(2024, 5, 12, 7, 45),
  Date.UTC(2025, 0, 6, 12, 0),
];
const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const BRANDS = ["ACME", "Globex", "Initech", "Umbrella"];
const REASONS: ReasonCode[] = ["received", "restock", "sale", "transfer", "damaged", "return", "other"];
const ROLES: Role[] = ["kiosk", "service", "kiosk", "service", "admin", "colleague", "hq-reader"];
const UNKNOWN_ACCOUNT = "ghost";
const UNKNOWN_SKU = "NO-SUCH-SKU";

interface ProductPlan {
  sku: string;
  brand: string;
  /** Prices cluster around this, so inflow and outflow cross often. */
  mid: number;
}

/** What a caller learns about one of its orders from the answers. */
interface KnownOrder {
  accountId: string;
  sku: string;
  side: Side;
  price: number;
  remaining: number;
  resting: boolean;
}

/**
 * Produces one stream, a command at a time. Its state is only what a caller could know: what it
 * sent, and (when `observe` is called) what the engine answered — never the engine's insides.
 */
export class StreamGenerator {
  private readonly dice: Dice;
  private readonly options: Required<StreamOptions>;
  private readonly setup: Command[] = [];
  private produced = 0;
  private ts: number;
  private readonly products: ProductPlan[] = [];
  private readonly accounts: string[] = [];
  /** What this caller set: who is verified and which skus are listed (those commands cannot fail). */
  private readonly verified = new Set<string>();
  private readonly listed = new Set<string>();
  private timezone: string | undefined;
  private readonly holdsTried: { holdId: string; accountId: string }[] = [];
  private holdCounter = 0;
  private ordersPlaced = 0;
  /** Filled in by `observe`; empty when generating blind. */
  private observing = false;
  private readonly orders = new Map<number, KnownOrder>();
  private readonly activeHolds = new Map<string, string>();

  constructor(seed: number, options: StreamOptions = {}) {
    this.dice = new Dice(prng(seed));
    this.options = {
      length: options.length ?? 150,
      clockSkew: options.clockSkew ?? true,
      timezoneChanges: options.timezoneChanges ?? true,
      deepBooks: options.deepBooks ?? false,
    };
    this.ts = this.dice.pick(STARTS) + this.dice.int(0, 6 * HOUR);
    this.planSetup();
  }

  /** The next command and its timestamp, or null when the stream is over. */
  next(): TimedCommand | null {
    if (this.produced >= this.setup.length + this.options.length) return null;
    const command = this.produced < this.setup.length ? this.setup[this.produced]! : this.randomCommand();
    this.produced += 1;
    const timed = { command, ts: this.ts };
    this.advanceClock();
    return timed;
  }

  /** Learn from the answer to the last command, as a caller reading its responses would. */
  observe(events: readonly EngineEvent[]): void {
    this.observing = true;
    for (const e of events) {
      switch (e.type) {
        case "order.accepted":
          this.orders.set(e.orderId, {
            accountId: e.accountId,
            sku: e.sku,
            side: e.side,
            price: e.price,
            remaining: e.quantity,
            resting: false,
          });
          break;
        case "order.rested": {
          const order = this.orders.get(e.orderId);
          if (order) order.resting = true;
          break;
        }
        case "order.reduced": {
          const order = this.orders.get(e.orderId);
          if (order) order.remaining = e.remaining;
          break;
        }
        case "order.replaced": {
          const order = this.orders.get(e.orderId);
          if (order) Object.assign(order, { price: e.price, remaining: e.quantity, resting: false });
          break;
        }
        case "order.cancelled":
          this.orders.delete(e.orderId);
          break;
        case "execution":
          for (const id of [e.inflowOrderId, e.outflowOrderId]) {
            const order = id === null ? undefined : this.orders.get(id);
            if (!order) continue;
            order.remaining -= e.quantity;
            if (order.remaining <= 0) this.orders.delete(id!);
          }
          break;
        case "hold.placed":
          this.activeHolds.set(e.holdId, e.accountId);
          break;
        case "hold.confirmed":
        case "hold.released":
          this.activeHolds.delete(e.holdId);
          break;
      }
    }
  }

  private planSetup(): void {
    const d = this.dice;
    if (d.chance(0.85)) this.setup.push(this.configure());
    else this.timezone = "UTC"; // the engine's default until someone configures the outlet

    const brands = BRANDS.slice(0, d.int(1, 3));
    const productCount = d.int(2, 4);
    for (let i = 0; i < productCount; i++) {
      const plan = { sku: `SKU-${i + 1}`, brand: d.pick(brands), mid: d.pick([10, 100, 250, 1_000]) };
      this.products.push(plan);
      this.setup.push(this.addProduct(plan));
    }

    const accountCount = d.int(3, 6);
    for (let i = 0; i < accountCount; i++) {
      const accountId = `acct-${i + 1}`;
      this.accounts.push(accountId);
      this.setup.push({
        type: "account.create",
        accountId,
        role: d.pick(ROLES),
        name: d.chance(0.5) ? `Account ${i + 1}` : "",
      });
      // Most get verified; some stay pending, some end up suspended.
      const kyc = d.weighted({ verified: 8, pending: 1, suspended: 1 });
      if (kyc !== "pending") this.setup.push(this.setKyc(accountId, kyc));
      if (d.chance(0.9)) this.setup.push({ type: "wallet.deposit", accountId, amount: d.int(1_000, 2_000_000) });
    }
  }

  /** Mostly small steps, sometimes hours or days (holds expire, days roll), rarely a step back. */
  private advanceClock(): void {
    const d = this.dice;
    const step = d.weighted({ same: 20, ms: 50, minutes: 16, hours: 5, day: 2, days: 0.5, back: 1 });
    if (step === "back" && !this.options.clockSkew) return;
    const delta = {
      same: 0,
      ms: d.int(1, 5 * SECOND),
      minutes: d.int(5 * SECOND, 10 * MINUTE),
      hours: d.int(10 * MINUTE, 3 * HOUR),
      day: d.int(3 * HOUR, 30 * HOUR),
      days: d.int(DAY, 3 * DAY),
      back: -d.int(1, 5 * SECOND),
    }[step];
    this.ts = Math.max(0, this.ts + delta);
  }

  private randomCommand(): Command {
    const d = this.dice;
    const deep = this.options.deepBooks;
    const kind = d.weighted({
      place: 40,
      cancel: deep ? 1 : 5,
      reduce: 5,
      replace: 6,
      holdPlace: 10,
      holdExtend: 3,
      holdConfirm: 6,
      holdCancel: 4,
      deposit: 3,
      withdraw: 3,
      kyc: 0.8,
      productUpdate: 1.5,
      productRemove: deep ? 0 : 0.4,
      productAdd: 1,
      accountCreate: 0.5,
      configure: 0.5,
      tick: 3,
      checkpoint: 1,
    });
    switch (kind) {
      case "place":
        return this.placeOrder();
      case "cancel": {
        const { orderId, accountId } = this.someOrder();
        return { type: "order.cancel", accountId, orderId };
      }
      case "reduce": {
        const { orderId, accountId, remaining } = this.someOrder();
        // Usually less than what is left; sometimes all of it or more (invalid_quantity).
        const by = d.chance(0.85) ? d.int(1, Math.max(1, remaining - 1)) : d.int(remaining, remaining + 3);
        return { type: "order.reduce", accountId, orderId, by };
      }
      case "replace":
        return this.replaceOrder();
      case "holdPlace":
        return this.placeHold();
      case "holdExtend":
        return { type: "hold.extend", ...this.someHold(), ttlMs: this.ttl() };
      case "holdConfirm":
        return { type: "hold.confirm", ...this.someHold() };
      case "holdCancel":
        return { type: "hold.cancel", ...this.someHold() };
      case "deposit":
        return {
          type: "wallet.deposit",
          accountId: this.actor(),
          // Now and then near the wallet's ceiling, to reach amount_too_large.
          amount: d.chance(0.03) ? MAX_AMOUNT - d.int(0, 1_000) : d.int(1, 500_000),
        };
      case "withdraw":
        return { type: "wallet.withdraw", accountId: this.actor(), amount: d.int(1, 300_000) };
      case "kyc":
        return this.setKyc(d.pick(this.accounts), d.weighted({ verified: 4, pending: 1, suspended: 1 }));
      case "productUpdate":
        return this.updateProduct();
      case "productRemove": {
        const sku = this.productPlan().sku;
        this.listed.delete(sku);
        return { type: "product.remove", sku };
      }
      case "productAdd": {
        // Re-list (or try to duplicate) a known sku, or list a new one.
        if (d.chance(0.8)) return this.addProduct(d.pick(this.products));
        const plan = { sku: `SKU-${this.products.length + 1}`, brand: d.pick(BRANDS), mid: d.pick([10, 100, 250]) };
        this.products.push(plan);
        return this.addProduct(plan);
      }
      case "accountCreate": {
        if (d.chance(0.5)) return { type: "account.create", accountId: d.pick(this.accounts), role: "kiosk", name: "" };
        const accountId = `acct-${this.accounts.length + 1}`;
        this.accounts.push(accountId);
        return { type: "account.create", accountId, role: d.pick(ROLES), name: "late" };
      }
      case "configure":
        return this.configure();
      case "tick":
        return { type: "tick" };
      case "checkpoint":
        return { type: "checkpoint" };
    }
  }

  private configure(): CommandOf<"outlet.configure"> {
    const d = this.dice;
    const brandLimits: Record<string, number> = {};
    if (d.chance(0.4)) brandLimits[d.pick(BRANDS)] = d.int(10, 120);
    if (d.chance(0.15)) brandLimits[d.pick(BRANDS)] = 0;
    const drawn = d.pick(TIMEZONES);
    this.timezone ??= drawn;
    // Sometimes no practical limit, so huge orders and carts get as far as the amount checks.
    const limit = d.weighted({ usual: 6, small: 3, unlimited: 1 });
    return {
      type: "outlet.configure",
      timezone: this.options.timezoneChanges ? drawn : this.timezone,
      tradingHours: d.chance(0.65) ? null : this.tradingHours(),
      defaultDailyLimit: limit === "usual" ? 1_000_000 : limit === "small" ? d.int(20, 400) : MAX_QUANTITY,
      brandLimits,
    };
  }

  private tradingHours(): TradingHours {
    const d = this.dice;
    const hours: TradingHours = {};
    for (const day of WEEKDAYS) {
      if (d.chance(0.15)) continue; // closed all day
      if (d.chance(0.25)) {
        hours[day] = [{ open: "00:00", close: "24:00" }];
      } else if (d.chance(0.3)) {
        hours[day] = [
          { open: clock(d.int(5, 9), d.pick([0, 30])), close: clock(d.int(11, 12), d.pick([0, 45])) },
          { open: clock(d.int(13, 15), d.pick([0, 15])), close: d.chance(0.3) ? "24:00" : clock(d.int(17, 23), 0) },
        ];
      } else {
        hours[day] = [{ open: clock(d.int(4, 9), d.pick([0, 30])), close: clock(d.int(17, 23), d.pick([0, 59])) }];
      }
    }
    return hours;
  }

  private setKyc(accountId: string, kyc: CommandOf<"account.kyc">["kyc"]): CommandOf<"account.kyc"> {
    if (kyc === "verified") this.verified.add(accountId);
    else this.verified.delete(accountId);
    return { type: "account.kyc", accountId, kyc };
  }

  private addProduct(plan: ProductPlan): CommandOf<"product.add"> {
    const d = this.dice;
    this.listed.add(plan.sku);
    return {
      type: "product.add",
      sku: plan.sku,
      name: `Product ${plan.sku}`,
      brand: plan.brand,
      attributes: d.chance(0.5) ? { colour: d.pick(["red", "blue"]), size: d.int(1, 5), fragile: d.chance(0.5) } : {},
    };
  }

  private updateProduct(): CommandOf<"product.update"> {
    const d = this.dice;
    const update: CommandOf<"product.update"> = { type: "product.update", sku: this.productPlan().sku };
    if (d.chance(0.5)) update.name = `Renamed ${d.int(1, 99)}`;
    if (d.chance(0.3)) update.brand = d.pick(BRANDS); // later units count to another brand's limit
    if (d.chance(0.4)) update.attributes = { season: d.pick(["summer", "winter"]) };
    return update;
  }

  private placeOrder(): CommandOf<"order.place"> {
    const d = this.dice;
    const plan = this.productPlan();
    const huge = d.chance(0.01); // price x quantity beyond what a wallet can hold
    this.ordersPlaced += 1;
    return {
      type: "order.place",
      accountId: this.actor(),
      sku: plan.sku,
      side: d.chance(0.55) ? "inflow" : "outflow", // a little more stock than demand, so holds find some
      price: huge ? d.int(100_000_000, 1_000_000_000) : this.price(plan),
      quantity: huge ? d.int(10_000_000, 1_000_000_000) : this.quantity(),
      timeInForce: d.weighted<TimeInForce>(
        this.options.deepBooks ? { GTC: 9, IOC: 1, FOK: 1 } : { GTC: 6, IOC: 2, FOK: 2 },
      ),
      reason: d.pick(REASONS),
      reference: d.chance(0.2) ? `ref-${d.int(1, 9_999)}` : null,
    };
  }

  private replaceOrder(): CommandOf<"order.replace"> {
    const d = this.dice;
    const { orderId, accountId, remaining, sku } = this.someOrder();
    const plan = this.products.find((p) => p.sku === sku) ?? this.productPlan();
    const command: CommandOf<"order.replace"> = { type: "order.replace", accountId, orderId };
    const what = d.weighted({ price: 2, quantity: 1, both: 1 });
    if (what !== "quantity") command.price = this.price(plan);
    if (what !== "price") command.quantity = Math.max(1, remaining + d.int(-3, 8));
    return command;
  }

  /** An order to act on: mostly a live one by its owner when observing, a guessed id when blind. */
  private someOrder(): { orderId: number; accountId: string; remaining: number; sku: string } {
    const d = this.dice;
    const resting = [...this.orders].filter(([, o]) => o.resting);
    if (this.observing && resting.length > 0 && d.chance(0.85)) {
      const [orderId, order] = d.pick(resting);
      const accountId = d.chance(0.8) ? order.accountId : this.actor();
      return { orderId, accountId, remaining: order.remaining, sku: order.sku };
    }
    const orderId = d.chance(0.1)
      ? d.int(this.ordersPlaced + 1, this.ordersPlaced + 1_000) // never issued
      : d.int(Math.max(1, Math.floor(this.ordersPlaced * 0.5)), Math.max(1, Math.floor(this.ordersPlaced * 0.8)));
    return { orderId, accountId: this.actor(), remaining: d.int(1, 10), sku: this.productPlan().sku };
  }

  private placeHold(): CommandOf<"hold.place"> {
    const d = this.dice;
    // A retry of a known id (by its owner: an idempotent repeat; by someone else: hold_exists).
    if (this.holdsTried.length > 0 && d.chance(0.15)) {
      const known = d.pick(this.holdsTried);
      return this.holdCommand(known.holdId, d.chance(0.7) ? known.accountId : this.actor());
    }
    this.holdCounter += 1;
    const holdId = `hold-${this.holdCounter}`;
    const accountId = this.actor();
    this.holdsTried.push({ holdId, accountId });
    return this.holdCommand(holdId, accountId);
  }

  private holdCommand(holdId: string, accountId: string): CommandOf<"hold.place"> {
    const d = this.dice;
    const lineCount = Number(d.weighted({ "1": 6, "2": 3, "3": 1, "4": 0.5 }));
    const lines = Array.from({ length: lineCount }, () => {
      const plan = this.productPlan(); // repeats of one sku in a cart are welcome
      const quantity = d.chance(0.01) ? d.int(10_000_000, 100_000_000) : d.int(1, 5); // huge: insufficient stock or amount
      return { sku: plan.sku, quantity, limitPrice: d.chance(0.3) ? this.price(plan) : null };
    });
    return {
      type: "hold.place",
      holdId,
      accountId,
      lines,
      ttlMs: this.ttl(),
      reason: d.pick(REASONS),
      reference: d.chance(0.3) ? `cart-${d.int(1, 999)}` : null,
    };
  }

  /** A hold to extend, confirm or cancel: mostly a live one when observing, else a recent or unknown id. */
  private someHold(): { holdId: string; accountId: string } {
    const d = this.dice;
    const active = [...this.activeHolds];
    if (this.observing && active.length > 0 && d.chance(0.7)) {
      const [holdId, owner] = d.pick(active);
      return { holdId, accountId: d.chance(0.85) ? owner : this.actor() };
    }
    if (this.holdsTried.length === 0 || d.chance(0.1))
      return { holdId: `hold-x${d.int(1, 9)}`, accountId: this.actor() };
    const hold = d.pick(this.holdsTried.slice(d.chance(0.7) ? -3 : -15)); // recent holds may still be alive
    return { holdId: hold.holdId, accountId: d.chance(0.75) ? hold.accountId : this.actor() };
  }

  private ttl(): number {
    const d = this.dice;
    const kind = d.weighted({ short: 5, medium: 3, long: 1, max: 0.2 });
    if (kind === "short") return d.int(1, 2 * MINUTE);
    if (kind === "medium") return d.int(2 * MINUTE, 2 * HOUR);
    if (kind === "long") return d.int(2 * HOUR, 2 * DAY);
    return MAX_HOLD_TTL_MS;
  }

  /** Mostly a verified account; sometimes any account, now and then one that does not exist. */
  private actor(): string {
    const d = this.dice;
    if (d.chance(0.03)) return UNKNOWN_ACCOUNT;
    const verified = this.accounts.filter((a) => this.verified.has(a));
    return verified.length > 0 && d.chance(0.85) ? d.pick(verified) : d.pick(this.accounts);
  }

  /** Mostly a listed product; sometimes a delisted one, now and then one that never existed. */
  private productPlan(): ProductPlan {
    const d = this.dice;
    if (d.chance(0.02)) return { sku: UNKNOWN_SKU, brand: "none", mid: 100 };
    const listed = this.products.filter((p) => this.listed.has(p.sku));
    return listed.length > 0 && d.chance(0.9) ? d.pick(listed) : d.pick(this.products);
  }

  private price(plan: ProductPlan): number {
    const spread = Math.max(2, Math.round(plan.mid * (this.options.deepBooks ? 0.2 : 0.05)));
    return Math.max(1, plan.mid + this.dice.int(-spread, spread));
  }

  private quantity(): number {
    const d = this.dice;
    return d.chance(0.85) ? d.int(1, 10) : d.int(10, 120);
  }
}

function clock(hours: number, minutes: number): string {
  return `${String(hours).padStart(2, "0")}:${String(minutes).padStart(2, "0")}`;
}

/** The blind stream for `seed`. A shorter `length` gives a prefix of the longer stream. */
export function generateStream(seed: number, options: StreamOptions = {}): TimedCommand[] {
  const generator = new StreamGenerator(seed, options);
  const stream: TimedCommand[] = [];
  for (let next = generator.next(); next !== null; next = generator.next()) stream.push(next);
  return stream;
}

export interface StreamStep extends TimedCommand {
  events: EngineEvent[];
}

/**
 * Runs the stream for `seed` through `execute`, letting the generator read every answer.
 * The result (commands, timestamps and the events `execute` gave) can be replayed elsewhere.
 */
export function runStream(
  seed: number,
  options: StreamOptions,
  execute: (command: Command, ts: number) => EngineEvent[],
): StreamStep[] {
  const generator = new StreamGenerator(seed, options);
  const steps: StreamStep[] = [];
  for (let next = generator.next(); next !== null; next = generator.next()) {
    const events = execute(next.command, next.ts);
    generator.observe(events);
    steps.push({ ...next, events });
  }
  return steps;
}

/** fast-check arbitrary of a seed and a length; shrinks towards shorter streams of the same seed. */
export function streamSeedArbitrary(maxLength = 150): fc.Arbitrary<{ seed: number; length: number }> {
  return fc.record({ seed: fc.integer({ min: 0, max: 0x7fffffff }), length: fc.integer({ min: 1, max: maxLength }) });
}

/** fast-check arbitrary of blind streams. */
export function streamArbitrary(
  options: Omit<StreamOptions, "length"> & { maxLength?: number } = {},
): fc.Arbitrary<{ seed: number; length: number; stream: TimedCommand[] }> {
  const { maxLength = 150, ...rest } = options;
  return streamSeedArbitrary(maxLength).map(({ seed, length }) => ({
    seed,
    length,
    stream: generateStream(seed, { ...rest, length }),
  }));
}
