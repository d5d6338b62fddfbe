// The local stack in one command: NATS (JetStream), HQ when it exists, and two outlets with demo
// data, the kiosk pages and the HQ dashboard. `npm start -- --help` lists the options.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { dirname, join, relative, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { EVENTS_STREAM, eventsSubject } from "@stockroom/service";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const OUTLET_BIN = join(ROOT, "apps/outlet/bin/stockroom-outlet.js");
const HQ_BIN = join(ROOT, "apps/hq/bin/stockroom-hq.js");
const KEY = /sr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/;

// ---------------------------------------------------------------- options and results

export interface StackOptions {
  /** Where the outlets (and a spawned NATS) keep their data. Default `.tmp/stack`. */
  dataRoot?: string;
  /** Wipe the data of earlier runs; default: keep it (new keys are issued, nothing is seeded twice). */
  fresh?: boolean;
  /** NATS to use: a URL, `false` for offline, or undefined to find or spawn one. */
  natsUrl?: string | false;
  outlets?: { id: string; port?: number }[];
  hqPort?: number;
  /** Products in the demo catalog (the same catalog in every outlet). */
  skus?: number;
  traffic?: boolean;
  /** Build the front-ends even when their dist exists. */
  rebuild?: boolean;
  /** Checkpoints (HQ reconciliation) every this many ms. */
  checkpointEveryMs?: number;
  /** HQ calls an outlet offline when its heartbeat is older than this (HQ's default: 10 s). */
  hqOfflineAfterMs?: number;
  /** Where log lines go; default stdout. */
  print?: (line: string) => void;
}

export interface StackOutlet {
  id: string;
  url: string;
  dataDir: string;
  /** API key per demo account: admin, colleague, kiosk, service, hq-reader. */
  keys: Record<string, string>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface Stack {
  dataRoot: string;
  nats: { url: string; how: "NATS_URL" | "existing" | "spawned" } | null;
  outlets: StackOutlet[];
  hq: { url: string; key: string } | null;
  catalog: DemoProduct[];
  stop(): Promise<void>;
}

export const ACCOUNTS = [
  { id: "colleague", role: "colleague", deposit: 1_000_000_000 },
  { id: "kiosk", role: "kiosk", deposit: 1_000_000_000 },
  { id: "service", role: "service", deposit: 5_000_000_000 },
  { id: "hq-reader", role: "hq-reader", deposit: 0 },
] as const;

// ---------------------------------------------------------------- logging

const { NO_COLOR, NATS_URL } = process.env;
const tty = process.stdout.isTTY && !NO_COLOR;
const paint = (code: number, text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const SERVICE_COLORS = [36, 35, 33, 34, 32];
const serviceColor = new Map<string, number>();
const LEVELS: Record<number, [string, number]> = {
  10: ["TRACE", 90],
  20: ["DEBUG", 90],
  30: ["INFO ", 32],
  40: ["WARN ", 33],
  50: ["ERROR", 31],
  60: ["FATAL", 41],
};

function clock(ts = Date.now()): string {
  return new Date(ts).toTimeString().slice(0, 8);
}

/** One readable line: time, service, level, message, then key=value for the rest. */
export function formatLine(service: string, raw: string): string {
  if (!serviceColor.has(service)) serviceColor.set(service, SERVICE_COLORS[serviceColor.size % SERVICE_COLORS.length]!);
  const name = paint(serviceColor.get(service)!, service.padEnd(7));
  let record: Record<string, unknown> | null = null;
  if (raw.startsWith("{")) {
    try {
      record = JSON.parse(raw);
    } catch {
      record = null;
    }
  }
  if (!record) return `${clock()} ${name} ${raw}`;
  const { level, time, msg, pid: _pid, hostname: _host, ...rest } = record;
  const [label, color] = LEVELS[Number(level)] ?? ["INFO ", 32];
  const fields = Object.entries(rest)
    .map(([k, v]) => {
      if (k === "err" && v && typeof v === "object" && "message" in v) return `err=${JSON.stringify(v.message)}`;
      return `${k}=${typeof v === "string" ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`;
    })
    .join(" ");
  return `${clock(typeof time === "number" ? time : Date.now())} ${name} ${paint(color, label)} ${msg ?? ""}${fields ? `  ${paint(90, fields)}` : ""}`;
}

// ---------------------------------------------------------------- processes

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function freePort(preferred?: number): Promise<number> {
  if (preferred && (await portFree(preferred))) return preferred;
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function answers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A long-running child whose output becomes readable log lines. */
class Service {
  private child: ChildProcess | null = null;
  private stopping = false;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly print: (line: string) => void,
    private readonly detached = false,
    /** Rewrites (or with null drops) each output line before it is formatted. */
    private readonly rewrite: (line: string) => string | null = (line) => line,
  ) {}

  start(): void {
    this.stopping = false;
    const child = spawn(this.command, this.args, {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: this.detached,
    });
    this.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream! }).on("line", (raw) => {
        const line = raw.trim() ? this.rewrite(raw) : null;
        if (line) this.print(formatLine(this.name, line));
      });
    }
    child.once("exit", (code, signal) => {
      if (this.child === child) this.child = null;
      if (!this.stopping) this.print(formatLine(this.name, `exited (${signal ?? `code ${code}`})`));
    });
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null;
  }

  /** From now on an exit is no news (Ctrl-C also reaches the children directly). */
  expectExit(): void {
    this.stopping = true;
  }

  /** SIGTERM, then SIGKILL after a grace period. */
  async stop(graceMs = 8_000): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** For a synchronous exit handler. */
  killNow(): void {
    if (this.child && this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

const NATS_LEVELS: Record<string, number> = { TRC: 10, DBG: 20, INF: 30, WRN: 40, ERR: 50, FTL: 60 };

/** nats-server's `[pid] date time [LVL] message` as a pino-like record; routine startup chatter dropped. */
function natsLine(line: string): string | null {
  const m = /^\[\d+\] \S+ \S+ \[(\w+)\] (.*)$/.exec(line);
  if (!m) return line;
  const level = NATS_LEVELS[m[1]!] ?? 30;
  if (level < 40 && !/Server is ready|Listening for client connections/.test(m[2]!)) return null;
  return JSON.stringify({ level, msg: m[2] });
}

/** Runs a CLI to completion and returns its stdout; throws with its stderr on failure. */
function runCli(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.once("exit", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${bin} ${args.join(" ")}: ${err.trim() || out.trim()}`)),
    );
  });
}

async function waitReady(url: string, timeoutMs = 30_000, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) return;
    } catch {}
    if (!alive()) throw new Error(`${url} exited before it was ready`);
    if (Date.now() > deadline) throw new Error(`${url} not ready within ${timeoutMs} ms`);
    await sleep(100);
  }
}

// ---------------------------------------------------------------- front-ends

/** The newest modification time under a path (files only). */
function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

/** Builds each front-end whose dist is missing or older than its sources. */
export function buildFrontEnds(rebuild: boolean, log: (msg: string) => void): void {
  for (const app of ["kiosk-web", "hq-web"]) {
    const dir = join(ROOT, "apps", app);
    if (!existsSync(join(dir, "index.html"))) continue;
    const built = newest(join(dir, "dist/index.html"));
    const sources = Math.max(
      newest(join(dir, "src")),
      newest(join(dir, "index.html")),
      newest(join(dir, "vite.config.ts")),
    );
    if (!rebuild && built > 0 && built >= sources) continue;
    log(`building ${app} (vite)…`);
    const result = spawnSync("npm", ["run", "build", "--silent", "-w", `@stockroom/${app}`], {
      cwd: ROOT,
      encoding: "utf8",
    });
    if (result.status !== 0) throw new Error(`building ${app} failed:\n${result.stdout}${result.stderr}`);
  }
}

// ---------------------------------------------------------------- demo data

export interface DemoProduct {
  sku: string;
  name: string;
  brand: string;
  category: string;
  /** A typical unit cost, minor units. */
  base: number;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function seedOf(text: string): number {
  let h = 2166136261;
  for (const c of text) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

const BRANDS: [code: string, name: string][] = [
  ["ACM", "Acme Home"],
  ["BRW", "Brightwell"],
  ["CTK", "Cotswold Kitchen"],
  ["NWD", "Northwind"],
  ["OAK", "Oak & Ash"],
  ["PIN", "Pinecrest"],
  ["RVS", "Riverside"],
  ["SMT", "Summit Outdoor"],
];
const CATEGORIES: [code: string, category: string, nouns: string[], base: number][] = [
  ["MUG", "kitchen", ["Mug", "Teacup", "Espresso cup", "Travel mug"], 450],
  ["POT", "kitchen", ["Teapot", "Saucepan", "Stock pot", "Casserole"], 2400],
  ["KNF", "kitchen", ["Chef's knife", "Paring knife", "Bread knife"], 1900],
  ["TWL", "bath", ["Bath towel", "Hand towel", "Bath mat"], 1200],
  ["LMP", "lighting", ["Desk lamp", "Floor lamp", "Bedside lamp"], 3500],
  ["CSH", "living", ["Cushion", "Throw", "Blanket"], 1500],
  ["TEA", "pantry", ["Earl Grey 50 bags", "Green tea 40 bags", "Breakfast tea 80 bags"], 350],
  ["COF", "pantry", ["Coffee beans 1kg", "Ground coffee 250g", "Decaf beans 500g"], 900],
  ["TNT", "outdoor", ["Tent 2-person", "Sleeping bag", "Camping stove"], 6900],
  ["BTL", "outdoor", ["Water bottle", "Flask", "Lunch box"], 1100],
];
const COLOURS = ["white", "black", "sage", "navy", "terracotta", "oat", "charcoal", "mustard"];

/** The same few hundred products for every outlet, deterministic. */
export function demoCatalog(count: number): DemoProduct[] {
  const random = rng(42);
  const products: DemoProduct[] = [];
  for (let i = 0; products.length < count; i++) {
    const [brandCode, brand] = BRANDS[i % BRANDS.length]!;
    const [catCode, category, nouns, base] = CATEGORIES[Math.floor(i / BRANDS.length) % CATEGORIES.length]!;
    const n = Math.floor(i / (BRANDS.length * CATEGORIES.length)) + 1;
    const noun = nouns[Math.floor(random() * nouns.length)]!;
    const colour = COLOURS[Math.floor(random() * COLOURS.length)]!;
    products.push({
      sku: `${brandCode}-${catCode}-${String(n).padStart(3, "0")}`,
      name: `${noun}, ${colour}`,
      brand,
      category,
      base: Math.round((base * (0.6 + random() * 0.9)) / 10) * 10 + 9,
    });
  }
  return products;
}

interface Command {
  type: string;
  [k: string]: unknown;
}

async function call<T>(url: string, key: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${parsed?.title ?? text}`);
  return parsed as T;
}

async function batch(url: string, key: string, commands: Command[]): Promise<{ ok: number; refused: string[] }> {
  let ok = 0;
  const refused: string[] = [];
  for (let i = 0; i < commands.length; i += 2_000) {
    const chunk = commands.slice(i, i + 2_000);
    const { results } = await call<{ results: { status: number; body: { title?: string } }[] }>(
      url,
      key,
      "POST",
      "/v1/batch",
      { commands: chunk },
    );
    for (const r of results) {
      if (r.status >= 400) refused.push(r.body.title ?? `status ${r.status}`);
      else ok++;
    }
  }
  return { ok, refused };
}

/** The demo accounts, verified and funded. */
export function accountCommands(): Command[] {
  return ACCOUNTS.flatMap((a) => [
    { type: "account.create", accountId: a.id, role: a.role, name: `Demo ${a.id}` },
    { type: "account.kyc", accountId: a.id, kyc: "verified" },
    ...(a.deposit ? [{ type: "wallet.deposit", accountId: a.id, amount: a.deposit }] : []),
  ]);
}

/** The catalog, a few lots of stock per product, some waiting demand and a few sales. */
export function seedCommands(outletId: string, catalog: DemoProduct[]): Command[] {
  const random = rng(seedOf(outletId));
  const commands: Command[] = catalog.map((p) => ({
    type: "product.add",
    sku: p.sku,
    name: p.name,
    brand: p.brand,
    attributes: { category: p.category },
  }));
  for (const p of catalog) {
    if (random() < 0.08) continue; // out of stock here
    const lots = 1 + Math.floor(random() * 3);
    for (let l = 0; l < lots; l++) {
      commands.push({
        type: "order.place",
        accountId: "colleague",
        sku: p.sku,
        side: "inflow",
        price: Math.max(1, Math.round(p.base * (0.9 + l * 0.05 + random() * 0.04))),
        quantity: 5 + Math.floor(random() * 60),
        timeInForce: "GTC",
        reason: "received",
        reference: `DN-${1000 + Math.floor(random() * 9000)}`,
      });
    }
    if (random() < 0.2) {
      commands.push({
        type: "order.place",
        accountId: "service",
        sku: p.sku,
        side: "outflow",
        price: Math.max(1, Math.round(p.base * 0.75)),
        quantity: 1 + Math.floor(random() * 10),
        timeInForce: "GTC",
        reason: "transfer",
      });
    }
  }
  for (const p of catalog.slice(0, 40)) {
    commands.push({
      type: "order.place",
      accountId: "service",
      sku: p.sku,
      side: "outflow",
      price: Math.round(p.base * 1.3),
      quantity: 1 + Math.floor(random() * 4),
      timeInForce: "IOC",
      reason: "sale",
    });
  }
  return commands;
}

// ---------------------------------------------------------------- traffic

/** Demo shoppers: sales, receipts, holds confirmed or cancelled, on the first few dozen skus. */
function startTraffic(outlets: StackOutlet[], catalog: DemoProduct[], log: (msg: string) => void): () => void {
  const hot = catalog.slice(0, 24);
  let stopped = false;
  const counters = new Map<string, Record<string, number>>();
  const loops = outlets.map(async (outlet, index) => {
    const random = rng(seedOf(outlet.id) + 7);
    const stats: Record<string, number> = { sales: 0, units: 0, receipts: 0, holds: 0, refused: 0 };
    counters.set(outlet.id, stats);
    await sleep(index * 150);
    while (!stopped) {
      const p = hot[Math.floor(random() * hot.length)]!;
      const r = random();
      try {
        if (r < 0.5) {
          const sale = await call<{ filledQuantity: number }>(outlet.url, outlet.keys.kiosk!, "POST", "/v1/transact", {
            sku: p.sku,
            side: "outflow",
            price: Math.round(p.base * (1.1 + random() * 0.3)),
            quantity: 1 + Math.floor(random() * 3),
            timeInForce: "IOC",
            reason: "sale",
          });
          stats.sales!++;
          stats.units! += sale.filledQuantity;
        } else if (r < 0.75) {
          await call(outlet.url, outlet.keys.colleague!, "POST", "/v1/transact", {
            sku: p.sku,
            side: "inflow",
            price: Math.round(p.base * (0.85 + random() * 0.3)),
            quantity: 3 + Math.floor(random() * 15),
            timeInForce: "GTC",
            reason: "restock",
          });
          stats.receipts!++;
        } else {
          const hold = await call<{ holdId: string }>(outlet.url, outlet.keys.service!, "POST", "/v1/holds", {
            lines: [{ sku: p.sku, quantity: 1 + Math.floor(random() * 2), limitPrice: null }],
            ttlMs: 60_000,
          });
          stats.holds!++;
          const confirm = random() < 0.7;
          setTimeout(
            () =>
              void call(
                outlet.url,
                outlet.keys.service!,
                "POST",
                `/v1/holds/${hold.holdId}/${confirm ? "confirm" : "cancel"}`,
              ).catch(() => {}),
            1_000 + random() * 3_000,
          );
        }
      } catch {
        stats.refused!++;
      }
      await sleep(250 + random() * 500);
    }
  });
  const report = setInterval(() => {
    const parts = [...counters].map(
      ([id, s]) =>
        `${id}: ${s.sales} sales (${s.units} units), ${s.receipts} receipts, ${s.holds} holds, ${s.refused} refused`,
    );
    log(`traffic  ${parts.join(" · ")}`);
  }, 15_000);
  return () => {
    stopped = true;
    clearInterval(report);
    void Promise.all(loops);
  };
}

/** Logs each outlet's replication state when it changes. */
function watchReplication(outlets: StackOutlet[], log: (msg: string) => void): () => void {
  const last = new Map<string, string>();
  const timer = setInterval(async () => {
    for (const o of outlets) {
      try {
        const ready = (await (await fetch(`${o.url}/readyz`)).json()) as {
          seq: number;
          replication: { state: string; lag: number; error: string | null } | null;
        };
        const r = ready.replication;
        if (!r) continue;
        // replicating and caught_up alternate all the time under traffic: one "up" state for the log.
        const up = r.state === "caught_up" || r.state === "replicating";
        const state = up ? "up" : r.state;
        const before = last.get(o.id);
        if (before === state) continue;
        last.set(o.id, state);
        if (up)
          log(`${o.id} replicating to NATS${before ? " again" : ""}: ${r.lag} events behind, at seq ${ready.seq}`);
        else log(`${o.id} replication ${r.state}: ${r.lag} events waiting${r.error ? ` (${r.error})` : ""}`);
      } catch {}
    }
  }, 1_000);
  return () => clearInterval(timer);
}

/** Removes these outlets' events from the JetStream stream (their data is new). */
async function purgeOldEvents(url: string, outletIds: string[], log: (msg: string) => void): Promise<void> {
  const { connect: natsConnect } = await import("@nats-io/transport-node");
  const { jetstreamManager } = await import("@nats-io/jetstream");
  let nc: Awaited<ReturnType<typeof natsConnect>> | null = null;
  try {
    nc = await natsConnect({ servers: url, timeout: 2_000 });
    const jsm = await jetstreamManager(nc);
    for (const id of outletIds) {
      const subject = eventsSubject(id);
      const last = await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: subject }).catch(() => null);
      if (!last) continue;
      await jsm.streams.purge(EVENTS_STREAM, { filter: subject });
      log(`${id}: its data is new, so the old events on ${subject} were purged from ${url}`);
    }
  } catch (error) {
    log(`could not check ${url} for old events: ${(error as Error).message}`);
  } finally {
    await nc?.close().catch(() => {});
  }
}

// ---------------------------------------------------------------- the stack

/** Starts everything; resolves when the outlets are seeded and serving. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const print = options.print ?? ((line: string) => console.log(line));
  const log = (msg: string) => print(formatLine("stack", msg));
  const dataRoot = resolve(options.dataRoot ?? join(ROOT, ".tmp/stack"));
  const fresh = options.fresh ?? false;
  const catalog = demoCatalog(options.skus ?? 300);
  const cleanups: (() => Promise<void> | void)[] = [];
  const services: Service[] = [];
  const exitHandler = () => {
    for (const s of services) s.killNow();
  };
  process.once("exit", exitHandler);

  const stopServices = async () => {
    for (const s of services) s.expectExit();
    // Outlets first (they flush), then HQ, then NATS.
    const rank = (s: Service) => (s.name === "nats" ? 2 : s.name === "hq" ? 1 : 0);
    for (const s of [...services].sort((a, b) => rank(a) - rank(b))) await s.stop();
    process.removeListener("exit", exitHandler);
  };
  let nats: Stack["nats"] = null;
  let outlets: StackOutlet[] = [];
  let hq: Stack["hq"] = null;
  try {
    if (fresh) rmSync(dataRoot, { recursive: true, force: true });
    else if (existsSync(dataRoot)) log(`reusing the data in ${dataRoot} (--fresh starts over)`);
    mkdirSync(dataRoot, { recursive: true });
    buildFrontEnds(options.rebuild ?? false, log);

    // NATS: NATS_URL, a server already on 4222, or our own; else offline.
    if (options.natsUrl !== false) {
      const fromEnv = options.natsUrl ?? NATS_URL;
      if (fromEnv) {
        nats = { url: fromEnv, how: "NATS_URL" };
      } else if (await answers("127.0.0.1", 4222)) {
        nats = { url: "nats://127.0.0.1:4222", how: "existing" };
      } else if (spawnSync("nats-server", ["--version"]).status === 0) {
        const port = await freePort();
        const storeDir = join(dataRoot, "nats");
        mkdirSync(storeDir, { recursive: true });
        const server = new Service(
          "nats",
          "nats-server",
          ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir],
          {},
          print,
          true, // its own process group: Ctrl-C reaches the stack, which stops NATS last
          natsLine,
        );
        server.start();
        services.push(server);
        for (let i = 0; !(await answers("127.0.0.1", port)); i++) {
          if (i > 100 || !server.running) throw new Error("nats-server did not start");
          await sleep(100);
        }
        nats = { url: `nats://127.0.0.1:${port}`, how: "spawned" };
      } else {
        log(
          "nats-server not found: running the outlets offline, without HQ (install it: apt-get install -y nats-server)",
        );
      }
    }
    if (nats) log(`NATS ${nats.url} (${nats.how === "spawned" ? "spawned with JetStream" : nats.how})`);
    const wanted = options.outlets ?? [
      { id: "north", port: 8081 },
      { id: "south", port: 8082 },
    ];
    if (nats && nats.how !== "spawned") {
      // A NATS that outlived our data still holds the old chains of these outlets: drop them,
      // or the fresh outlets' events would be refused (or resumed past).
      const stale = wanted.filter(({ id }) => !existsSync(join(dataRoot, id, "outlet.db"))).map(({ id }) => id);
      if (stale.length) await purgeOldEvents(nats.url, stale, log);
    }

    // HQ (once apps/hq has a CLI), starting alongside the outlets: it waits for their events on NATS.
    const hqStarting = (async () => {
      if (!nats || !existsSync(HQ_BIN)) return;
      const port = await freePort(options.hqPort ?? 8080);
      const env: NodeJS.ProcessEnv = {
        STOCKROOM_HQ_DATA_DIR: join(dataRoot, "hq"),
        STOCKROOM_HQ_HOST: "127.0.0.1",
        STOCKROOM_HQ_PORT: String(port),
        STOCKROOM_HQ_NATS_URL: nats.url,
        STOCKROOM_HQ_SYNCHRONOUS: "NORMAL",
        STOCKROOM_HQ_OFFLINE_AFTER_MS: options.hqOfflineAfterMs ? String(options.hqOfflineAfterMs) : undefined,
        STOCKROOM_HQ_LOG_LEVEL: "info",
        STOCKROOM_HQ_CONFIG: undefined,
      };
      const out = await runCli(HQ_BIN, ["admin", "issue-key", "dashboard"], env);
      const key = KEY.exec(out)?.[0];
      if (!key) throw new Error(`no API key in: ${out}`);
      const service = new Service("hq", process.execPath, [HQ_BIN, "serve"], env, print);
      services.push(service);
      service.start();
      const url = `http://127.0.0.1:${port}`;
      await waitReady(url, 30_000, () => service.running);
      hq = { url, key };
    })();
    // Settled either way before anything else is awaited on failure.
    hqStarting.catch(() => {});

    // The outlets: the first admin through the CLI, then serve, then accounts, catalog and stock over HTTP.
    outlets = await Promise.all(
      wanted.map(async ({ id, port: preferred }) => {
        const dataDir = join(dataRoot, id);
        const port = await freePort(preferred);
        const env: NodeJS.ProcessEnv = {
          STOCKROOM_OUTLET_ID: id,
          STOCKROOM_DATA_DIR: dataDir,
          STOCKROOM_HOST: "127.0.0.1",
          STOCKROOM_PORT: String(port),
          STOCKROOM_SYNCHRONOUS: "NORMAL",
          STOCKROOM_CHECKPOINT_EVERY_MS: String(options.checkpointEveryMs ?? 10_000),
          STOCKROOM_CHECKPOINT_EVERY_EVENTS: "2000",
          STOCKROOM_LOG_LEVEL: "info",
          STOCKROOM_NATS_URL: nats?.url,
          STOCKROOM_CONFIG: undefined,
        };
        const fresh = !existsSync(join(dataDir, "outlet.db"));
        // The first admin only exists through the CLI (run while the node is stopped); the rest goes over HTTP.
        const adminOut = await runCli(
          OUTLET_BIN,
          fresh ? ["admin", "bootstrap"] : ["admin", "issue-key", "admin"],
          env,
        );
        const admin = KEY.exec(adminOut)?.[0];
        if (!admin) throw new Error(`no API key in: ${adminOut}`);
        const service = new Service(id, process.execPath, [OUTLET_BIN, "serve"], env, print);
        services.push(service);
        const url = `http://127.0.0.1:${port}`;
        const keys: Record<string, string> = { admin };
        const outlet: StackOutlet = {
          id,
          url,
          dataDir,
          keys,
          start: async () => {
            service.start();
            await waitReady(url, 30_000, () => service.running);
          },
          stop: () => service.stop(),
        };
        await outlet.start();
        if (fresh) {
          const started = Date.now();
          const { ok, refused } = await batch(url, admin, [...accountCommands(), ...seedCommands(id, catalog)]);
          const note = refused.length ? `, ${refused.length} refused (first: ${refused[0]})` : "";
          log(`${id} seeded: ${catalog.length} products, ${ok} commands in ${Date.now() - started} ms${note}`);
        }
        for (const a of ACCOUNTS) {
          keys[a.id] = (await call<{ apiKey: string }>(url, admin, "POST", `/v1/accounts/${a.id}/keys`)).apiKey;
        }
        return outlet;
      }),
    );

    await hqStarting;

    const stopWatch = nats ? watchReplication(outlets, log) : () => {};
    cleanups.push(stopWatch);
    if (options.traffic) cleanups.push(startTraffic(outlets, catalog, log));

    writeFileSync(
      join(dataRoot, "stack.json"),
      `${JSON.stringify({ nats, hq, outlets: outlets.map(({ id, url, keys }) => ({ id, url, keys })) }, null, 2)}\n`,
    );
  } catch (error) {
    for (const c of cleanups) await c();
    await stopServices();
    throw error;
  }

  let stopping: Promise<void> | null = null;
  return {
    dataRoot,
    nats,
    outlets,
    hq,
    catalog,
    stop: () => {
      stopping ??= (async () => {
        for (const s of services) s.expectExit();
        for (const c of cleanups) await c();
        await stopServices();
      })();
      return stopping;
    },
  };
}

// ---------------------------------------------------------------- command line

const USAGE = `npm start [-- options]      (node --import tsx scripts/start.ts)

  --traffic        generate demo traffic: sales, receipts, holds
  --fresh          start over: wipe the data of earlier runs (.tmp/stack); by default it is kept
  --offline        no NATS, no HQ: the outlets alone
  --skus N         products in the demo catalog (default 300)
  --rebuild        rebuild the kiosk page and the HQ dashboard
  --data DIR       where the stack keeps its data (default .tmp/stack)

NATS: NATS_URL if set, else a server already on 127.0.0.1:4222, else nats-server from PATH.`;

function banner(stack: Stack): string {
  const b = (s: string) => paint(1, s);
  const lines = ["", b("Stockroom is running"), ""];
  for (const o of stack.outlets) {
    lines.push(`  ${b(`kiosk ${o.id}`.padEnd(16))} ${paint(36, `${o.url}/`)}`);
    for (const name of ["kiosk", "colleague", "service", "admin", "hq-reader"]) {
      lines.push(`      ${name.padEnd(10)} ${o.keys[name]}`);
    }
  }
  if (stack.hq) {
    lines.push(`  ${b("HQ dashboard".padEnd(16))} ${paint(36, `${stack.hq.url}/`)}`);
    lines.push(`      ${"hq-reader".padEnd(10)} ${stack.hq.key}`);
  } else {
    lines.push(`  ${b("HQ dashboard".padEnd(16))} ${stack.nats ? "(not started)" : "(offline: no NATS)"}`);
  }
  if (stack.nats) lines.push(`  ${b("NATS".padEnd(16))} ${stack.nats.url}`);
  lines.push(
    "",
    `  Sign in on a page with a key above. Keys and URLs are also in ${relative(process.cwd(), join(stack.dataRoot, "stack.json"))}. OpenAPI: <url>/openapi.json`,
    `  Ctrl-C stops everything.`,
    "",
  );
  return lines.join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      traffic: { type: "boolean", default: false },
      fresh: { type: "boolean", default: false },
      offline: { type: "boolean", default: false },
      rebuild: { type: "boolean", default: false },
      skus: { type: "string" },
      data: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const skus = values.skus ? Number(values.skus) : undefined;
  if (skus !== undefined && !(Number.isInteger(skus) && skus > 0 && skus <= 5_000)) {
    throw new Error("--skus takes a whole number from 1 to 5000");
  }
  let stack: Stack | null = null;
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    console.log(formatLine("stack", "stopping…"));
    void (stack?.stop() ?? Promise.resolve()).then(() => {
      console.log(formatLine("stack", "stopped"));
      process.exit(0);
    });
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  stack = await startStack({
    traffic: values.traffic,
    fresh: values.fresh,
    natsUrl: values.offline ? false : undefined,
    rebuild: values.rebuild,
    skus,
    dataRoot: values.data,
  });
  if (interrupted) {
    await stack.stop();
    process.exit(0);
  }
  console.log(banner(stack));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error) => {
    console.error(formatLine("stack", `failed: ${error instanceof Error ? error.message : String(error)}`));
    process.exit(1);
  });
}
