/**
 * Outlet node throughput: `npm run bench -- outlet [--quick] [--cpu-prof]`
 * (or `node --import tsx bench/outlet.ts [--quick] [--cpu-prof]`).
 *
 * (a) durable: order commands/s through the real Writer (engine, then the committer thread's
 *     hash chain and group commit, synchronous FULL, so an fsync per group or fewer) on a temp
 *     dir of this disk, commands submitted concurrently so groups form: 2,048 in flight, four
 *     groups of 512 in the writer's pipeline (more in flight only waits longer), and once more
 *     with 16,384 in flight; beside it, the same stored rows
 *     (one event_groups row per commit) inserted with raw better-sqlite3, one transaction per
 *     commit, same schema, WAL, synchronous FULL, on the same disk (reported as events/s).
 * (b) http: POST /v1/transact (a seeded mix of resting inflow, crossing IOC outflow and missing
 *     IOC outflow, each with an Idempotency-Key) against a real outlet process (with the Node
 *     flags the image gives it, OUTLET_NODE_FLAGS), load from autocannon in another process,
 *     64 connections; beside a bare Hono (@hono/node-server) JSON echo process measured the
 *     same way with the same requests.
 * (c) batch: POST /v1/batch with 1,000 order commands per request from 4 concurrent clients in
 *     another process, cycling 8 request bodies whose orders balance per sku (balancedCycle).
 *
 * (b) and (c) also report the server's CPU per request or command, all threads and the main
 * thread alone, with how busy the main thread was (Linux /proc): where the time goes.
 *
 * Progress goes to stderr; a table, then one JSON line with the headline figures, to stdout.
 * `--cpu-prof` runs the outlet process under `node --cpu-prof` and prints where the profile is.
 *
 * The same file is also the helper processes: `--role=hono` (the echo server), `--role=load`
 * (autocannon) and `--role=batch` (the batch clients), configured by `--config=<json>`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "@stockroom/contracts";
import { openDb } from "../apps/outlet/src/storage/db.ts";
import { EventLog, type GroupRow } from "../apps/outlet/src/storage/event-log.ts";
import { recover } from "../apps/outlet/src/writer/recovery.ts";
import { Writer } from "../apps/outlet/src/writer/writer.ts";

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "apps/outlet/bin/stockroom-outlet.js");
const QUICK = process.argv.includes("--quick");
const CPU_PROF = process.argv.includes("--cpu-prof");
const ROLE = process.argv.find((a) => a.startsWith("--role="))?.slice("--role=".length);
/** `--only=durable,http,batch`: run some phases (the others report null). */
const ONLY = new Set(
  (process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length) ?? "durable,http,batch").split(","),
);

const P = QUICK
  ? { durableCommands: 40_000, durableReps: 1, httpSeconds: 5, httpReps: 1, warmupSeconds: 1, batchSeconds: 3 }
  : { durableCommands: 300_000, durableReps: 3, httpSeconds: 10, httpReps: 3, warmupSeconds: 2, batchSeconds: 10 };
/** Commands in flight in the durable phase, and the deeper queue it is also run with once. */
const DURABLE_WINDOW = 2_048;
const DEEP_WINDOW = 16_384;
/** The outlet process runs as the image runs it (NODE_OPTIONS in the Dockerfile). */
const OUTLET_NODE_FLAGS = ["--max-semi-space-size=64"];
const CONNECTIONS = 64;
const BATCH_SIZE = 1_000;
const BATCH_CLIENTS = 4;
const SKUS = Array.from({ length: 20 }, (_, i) => `SKU-${String(i).padStart(3, "0")}`);
const KIOSKS = Array.from({ length: 8 }, (_, i) => `kiosk-${i}`);

const progress = (line: string) => process.stderr.write(`[bench outlet] ${line}\n`);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** mulberry32: seeded, so every run sends the same mix. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface OrderBody {
  sku: string;
  side: "inflow" | "outflow";
  price: number;
  quantity: number;
  timeInForce: "GTC" | "IOC";
}

/**
 * The order mix: 45% inflow GTC at 95..105 (rests), 45% outflow IOC at 110 (takes what rests,
 * cancels the rest), 10% outflow IOC at 50..59 (misses, cancelled). Inflow and crossing outflow
 * units balance, so the book stays small however long it runs.
 */
function orderMix(seed: number): () => OrderBody {
  const random = prng(seed);
  return () => {
    const r = random();
    const sku = SKUS[Math.floor(random() * SKUS.length)]!;
    const quantity = 1 + Math.floor(random() * 5);
    if (r < 0.45) return { sku, side: "inflow", price: 95 + Math.floor(random() * 11), quantity, timeInForce: "GTC" };
    if (r < 0.9) return { sku, side: "outflow", price: 110, quantity, timeInForce: "IOC" };
    return { sku, side: "outflow", price: 50 + Math.floor(random() * 10), quantity, timeInForce: "IOC" };
  };
}

// ---------------------------------------------------------------------------------------------
// (a) durable writer vs raw SQLite

interface DurableResult {
  cmdsPerS: number;
  eventsPerS: number;
  commits: number;
  meanGroup: number;
  /** The stored group rows, to insert again raw… */
  rows: GroupRow[];
  /** …with this many rows per transaction, as the writer committed them. */
  groups: number[];
}

async function durableRun(rep: number, window: number): Promise<DurableResult> {
  const dir = mkdtempSync(join(tmpdir(), "stockroom-bench-writer-"));
  try {
    const db = openDb(join(dir, "outlet.db"), { synchronous: "FULL" });
    if (db.$client.pragma("synchronous", { simple: true }) !== 2) throw new Error("expected synchronous FULL");
    if (db.$client.pragma("journal_mode", { simple: true }) !== "wal") throw new Error("expected WAL");
    const log = new EventLog(db, "bench");
    const { engine, head } = recover(log);
    const writer = new Writer(log, engine, head, {});
    const seed: Command[] = [
      {
        type: "outlet.configure",
        timezone: "UTC",
        tradingHours: null,
        defaultDailyLimit: 1_000_000_000,
        brandLimits: {},
      },
      ...SKUS.map(
        (sku): Command => ({ type: "product.add", sku, name: `Product ${sku}`, brand: "Acme", attributes: {} }),
      ),
      ...KIOSKS.flatMap((accountId): Command[] => [
        { type: "account.create", accountId, role: "kiosk", name: "" },
        { type: "account.kyc", accountId, kyc: "verified" },
        { type: "wallet.deposit", accountId, amount: 1_000_000_000_000 },
      ]),
    ];
    for (const c of seed) await writer.submit(c, "admin");
    const seededSeq = writer.lastSeq;
    const next = orderMix(1_000 + rep);
    const random = prng(2_000 + rep);
    const commands: Command[] = Array.from({ length: P.durableCommands }, () => ({
      type: "order.place",
      accountId: KIOSKS[Math.floor(random() * KIOSKS.length)]!,
      ...next(),
      reason: "other",
      reference: null,
    }));
    /** The last seq of each commit, to give the raw run the same transactions. */
    const commitEnds: number[] = [];
    writer.onCommit = (envelopes) => {
      commitEnds.push(envelopes[envelopes.length - 1]!.seq);
    };
    const started = performance.now();
    await new Promise<void>((resolve, reject) => {
      let submitted = 0;
      let done = 0;
      const submitOne = () => {
        const command = commands[submitted++]!;
        writer.submit(command, command.type === "order.place" ? command.accountId : "admin").then(() => {
          if (++done === commands.length) resolve();
          else if (submitted < commands.length) submitOne();
        }, reject);
      };
      for (let i = 0; i < Math.min(window, commands.length); i++) submitOne();
    });
    const seconds = (performance.now() - started) / 1000;
    const events = writer.lastSeq - seededSeq;
    const rows = db.$client
      .prepare("SELECT * FROM event_groups WHERE first_seq > ? ORDER BY first_seq")
      .all(seededSeq) as DurableResult["rows"];
    // Rows per commit (a commit's events are stored in rows of up to 32 KiB of payloads).
    const groups: number[] = [];
    let row = 0;
    for (const end of commitEnds) {
      const first = row;
      while (row < rows.length && rows[row]!.last_seq <= end) row++;
      if (row > first) groups.push(row - first);
    }
    log.close();
    return {
      cmdsPerS: commands.length / seconds,
      eventsPerS: events / seconds,
      commits: commitEnds.length,
      meanGroup: commands.length / commitEnds.length,
      rows,
      groups,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same group rows, one transaction per commit, through raw better-sqlite3: events/s stored. */
function rawRun(rows: DurableResult["rows"], groups: number[]): number {
  const dir = mkdtempSync(join(tmpdir(), "stockroom-bench-raw-"));
  try {
    const db = openDb(join(dir, "raw.db"), { synchronous: "FULL" }).$client;
    const insert = db.prepare(
      "INSERT INTO event_groups (first_seq, last_seq, ts, prev_hash, types, actors, hashes, payloads) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    const commit = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const r = rows[i]!;
        insert.run(r.first_seq, r.last_seq, r.ts, r.prev_hash, r.types, r.actors, r.hashes, r.payloads);
      }
    });
    const started = performance.now();
    let at = 0;
    for (const n of groups) {
      commit(at, at + n);
      at += n;
    }
    const seconds = (performance.now() - started) / 1000;
    db.close();
    const events = rows.reduce((n, r) => n + r.last_seq - r.first_seq + 1, 0);
    return events / seconds;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// (b), (c) processes

interface LoadConfig {
  url: string;
  keys: string[];
  connections: number;
  seconds: number;
  /** Unmeasured load first (0: none). */
  warmupSeconds: number;
  seed: number;
}

interface LoadResult {
  reqPerS: number;
  /** Every answer, warm-up included (for CPU per request). */
  answered: number;
  ok: number;
  non2xx: number;
  errors: number;
  statuses: Record<string, number>;
  p50: number;
  p99: number;
  max: number;
}

interface BatchConfig {
  url: string;
  key: string;
  accountId: string;
  clients: number;
  perRequest: number;
  seconds: number;
}

interface BatchResult {
  cmdsPerS: number;
  commands: number;
  requests: number;
  failed: number;
  rejected: number;
  p50ms: number;
}

function childConfig<T>(): T {
  return JSON.parse(process.argv.find((a) => a.startsWith("--config="))!.slice("--config=".length)) as T;
}

/** --role=hono: the bare Hono JSON echo server (parses the body, answers it back with 201). */
async function runHono(): Promise<void> {
  const { Hono } = await import("hono");
  const { serve } = await import("@hono/node-server");
  const app = new Hono();
  let id = 0;
  app.post("/v1/transact", async (c) => {
    const body = (await c.req.json()) as Record<string, unknown>;
    return c.json({ orderId: ++id, status: "resting", ...body }, 201);
  });
  const server = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, (info) => {
    process.stdout.write(`listening ${info.port}\n`);
  });
  process.once("SIGTERM", () => server.close(() => process.exit(0)));
}

interface AutocannonResult {
  warmup?: { statusCodeStats: Record<string, { count: number }> };
  duration: number;
  errors: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
  latency: { p50: number; p99: number; max: number };
}
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  warmup?: { connections: number; duration: number };
  requests: { method: string; path: string; setupRequest: (req: AutocannonRequest) => AutocannonRequest }[];
}) => Promise<AutocannonResult>;

/** --role=load: autocannon with a fresh order (and Idempotency-Key) per request. */
async function runLoad(): Promise<void> {
  const config = childConfig<LoadConfig>();
  const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;
  const next = orderMix(config.seed);
  let n = 0;
  const result = await autocannon({
    url: config.url,
    connections: config.connections,
    duration: config.seconds,
    ...(config.warmupSeconds > 0
      ? { warmup: { connections: config.connections, duration: config.warmupSeconds } }
      : {}),
    requests: [
      {
        method: "POST",
        path: "/v1/transact",
        setupRequest: (req) => {
          const i = n++;
          req.headers = {
            authorization: `Bearer ${config.keys[i % config.keys.length]}`,
            "content-type": "application/json",
            "idempotency-key": `bench-${config.seed}-${i}`,
          };
          req.body = JSON.stringify(next());
          return req;
        },
      },
    ],
  });
  const statuses: Record<string, number> = {};
  let ok = 0;
  let all = 0;
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) {
    statuses[code] = Number(count);
    all += Number(count);
    if (code.startsWith("2")) ok += Number(count);
  }
  let warm = 0;
  for (const { count } of Object.values(result.warmup?.statusCodeStats ?? {})) warm += Number(count);
  const out: LoadResult = {
    reqPerS: all / result.duration,
    answered: all + warm,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    statuses,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/**
 * --role=batch: clients each sending POST /v1/batch of `perRequest` orders, back to back, over
 * keep-alive node:http connections. An answer's results are counted by scanning its bytes for
 * each result's opening `{"status":NNN,"body":` rather than parsing it: JSON.parse and fetch of
 * answers this size (~300 KiB) cost the client more than half a core, taken from the outlet's
 * two. The first answer is parsed in full, to check that the scan counts what the JSON holds.
 */
async function runBatch(): Promise<void> {
  const config = childConfig<BatchConfig>();
  const orders = balancedCycle(8 * config.perRequest);
  const bodies = Array.from({ length: 8 }, (_, b) =>
    Buffer.from(
      JSON.stringify({
        commands: orders
          .slice(b * config.perRequest, (b + 1) * config.perRequest)
          .map((order) => ({ type: "order.place", accountId: config.accountId, ...order })),
      }),
    ),
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: config.clients });
  const post = (body: Buffer) =>
    new Promise<{ status: number; answer: Buffer }>((resolve, reject) => {
      const req = http.request(
        `${config.url}/v1/batch`,
        {
          method: "POST",
          agent,
          headers: {
            authorization: `Bearer ${config.key}`,
            "content-type": "application/json",
            "content-length": body.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, answer: Buffer.concat(chunks) }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  const deadline = performance.now() + config.seconds * 1000;
  let requests = 0;
  let failed = 0;
  let rejected = 0;
  let commands = 0;
  let checked = false;
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: config.clients }, async (_, client) => {
      for (let i = client; performance.now() < deadline; i += config.clients) {
        const t = performance.now();
        const { status, answer } = await post(bodies[i % bodies.length]!);
        latencies.push(performance.now() - t);
        requests++;
        const { results, ok } = countResults(answer);
        if (!checked && status === 200) {
          checked = true;
          const parsed = (JSON.parse(answer.toString()) as { results: { status: number }[] }).results;
          if (parsed.length !== results || parsed.filter((r) => r.status < 400).length !== ok) {
            throw new Error(`the answer scan counted ${results}/${ok}, the JSON holds ${parsed.length}`);
          }
        }
        if (status !== 200 || results !== config.perRequest) {
          failed++;
          continue;
        }
        commands += results;
        rejected += results - ok;
      }
    }),
  );
  agent.destroy();
  const seconds = (performance.now() - started) / 1000;
  const out: BatchResult = {
    cmdsPerS: commands / seconds,
    commands,
    requests,
    failed,
    rejected,
    p50ms: median(latencies),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

/**
 * `count` orders of the mix, sent over and over, whose resting inflow and crossing outflow units
 * balance for every sku: the cycle ends with one order per sku that evens it out. A cycle that
 * left even a few units over would grow the book with every pass, and with it every snapshot and
 * the writer's cost per command, run after run.
 */
function balancedCycle(count: number): OrderBody[] {
  const next = orderMix(7);
  const orders = Array.from({ length: count - SKUS.length }, next);
  const net = new Map(SKUS.map((sku) => [sku, 0]));
  for (const o of orders) {
    if (o.side === "inflow") net.set(o.sku, net.get(o.sku)! + o.quantity);
    else if (o.price === 110) net.set(o.sku, net.get(o.sku)! - o.quantity);
  }
  for (const [sku, units] of net) {
    if (units > 0) orders.push({ sku, side: "outflow", price: 110, quantity: units, timeInForce: "IOC" });
    else if (units < 0) orders.push({ sku, side: "inflow", price: 100, quantity: -units, timeInForce: "GTC" });
    else orders.push({ sku, side: "outflow", price: 50, quantity: 1, timeInForce: "IOC" });
  }
  return orders;
}

const RESULT = Buffer.from('{"status":');
const BODY = Buffer.from(',"body":');

/** Results in a batch answer (each opens `{"status":NNN,"body":`), and how many have a status below 400. */
function countResults(answer: Buffer): { results: number; ok: number } {
  let results = 0;
  let ok = 0;
  for (let at = answer.indexOf(RESULT); at >= 0; at = answer.indexOf(RESULT, at + RESULT.length)) {
    const digits = at + RESULT.length;
    if (answer.compare(BODY, 0, BODY.length, digits + 3, digits + 3 + BODY.length) !== 0) continue;
    results++;
    if (answer[digits]! < 0x34) ok++; // "1", "2" or "3"
  }
  return { results, ok };
}

const children = new Set<ChildProcess>();

/** Runs this file in another process with a role; resolves with its stdout. */
function child(role: string, config: unknown): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(
      process.execPath,
      ["--import", "tsx", SELF, `--role=${role}`, `--config=${JSON.stringify(config)}`],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    children.add(c);
    let out = "";
    c.stdout.on("data", (d) => (out += d));
    c.once("error", reject);
    c.once("close", (code) => {
      children.delete(c);
      if (code === 0) resolve(out);
      else reject(new Error(`bench child ${role} exited ${code}`));
    });
  });
}

/** User + system CPU seconds in a /proc stat file (Linux; NaN elsewhere). */
function statSeconds(path: string): number {
  try {
    const fields = readFileSync(path, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds a process has used so far: all its threads, and its main thread alone (the event
 * loop, where HTTP, validation and the engine run: the one that saturates first).
 */
function cpuSeconds(pid: number): { all: number; main: number } {
  return { all: statSeconds(`/proc/${pid}/stat`), main: statSeconds(`/proc/${pid}/task/${pid}/stat`) };
}

/** CPU used since `before` (cpuSeconds) per unit of work, in µs, and the main thread's busy share of `seconds`. */
function cpuSince(pid: number, before: { all: number; main: number }, units: number, seconds: number) {
  const now = cpuSeconds(pid);
  return {
    cpuUs: (1e6 * (now.all - before.all)) / units,
    mainUs: (1e6 * (now.main - before.main)) / units,
    mainBusy: (now.main - before.main) / seconds,
  };
}

const percent = (share: number) => `${Math.round(100 * share)}%`;

/** The median main-thread CPU per unit and busy share of some runs (cpuSince), as a table cell. */
const mainThread = (runs: { mainUs: number; mainBusy: number }[], digits = 0) =>
  `${median(runs.map((r) => r.mainUs)).toFixed(digits)} (${percent(median(runs.map((r) => r.mainBusy)))})`;

const lastJson = <T>(text: string): T => JSON.parse(text.trim().split("\n").at(-1)!) as T;

function outletEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("STOCKROOM_")) delete env[name];
  return {
    ...env,
    STOCKROOM_OUTLET_ID: "bench",
    STOCKROOM_DATA_DIR: dataDir,
    STOCKROOM_HOST: "127.0.0.1",
    STOCKROOM_PORT: "0",
    STOCKROOM_SYNCHRONOUS: "FULL",
    STOCKROOM_RATE_LIMIT_PER_SECOND: "1000000000",
    STOCKROOM_RATE_LIMIT_BURST: "1000000000",
    STOCKROOM_DEFAULT_DAILY_LIMIT: "1000000000",
    STOCKROOM_LOG_LEVEL: "info",
  };
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [BIN, ...args], { env, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    c.stdout.on("data", (d) => (out += d));
    c.once("close", (code) =>
      code === 0 ? resolve(out) : reject(new Error(`stockroom-outlet ${args[0]} exited ${code}`)),
    );
  });
}

/** Starts `stockroom-outlet serve` (port 0) and resolves with its URL from the "outlet serving" line. */
function startOutletProcess(
  env: NodeJS.ProcessEnv,
  profileDir: string | null,
): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const flags = [...OUTLET_NODE_FLAGS, ...(profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [])];
    const c = spawn(process.execPath, [...flags, BIN, "serve"], { env, stdio: ["ignore", "pipe", "inherit"] });
    children.add(c);
    let buffered = "";
    c.stdout.on("data", (d: Buffer) => {
      buffered += d;
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string; level?: number };
          if (entry.msg === "outlet serving" && entry.url) resolve({ child: c, url: entry.url });
          else if ((entry.level ?? 0) >= 50) progress(`outlet: ${line}`);
        } catch {}
      }
    });
    c.once("exit", (code) => reject(new Error(`outlet exited ${code} while starting`)));
  });
}

function startHono(): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ["--import", "tsx", SELF, "--role=hono"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.add(c);
    c.stdout.on("data", (d: Buffer) => {
      const port = /listening (\d+)/.exec(String(d))?.[1];
      if (port) resolve({ child: c, url: `http://127.0.0.1:${port}` });
    });
    c.once("exit", (code) => reject(new Error(`hono echo exited ${code} while starting`)));
  });
}

function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    c.once("exit", () => resolve());
    c.kill("SIGTERM");
  });
}

async function api(url: string, key: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(url + path, {
    method,
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** Creates a verified, funded account with a key, through the API. */
async function account(url: string, adminKey: string, accountId: string, role: string): Promise<string> {
  await api(url, adminKey, "POST", "/v1/accounts", { accountId, role });
  await api(url, adminKey, "POST", `/v1/accounts/${accountId}/kyc`, { kyc: "verified" });
  await api(url, adminKey, "POST", `/v1/accounts/${accountId}/deposit`, { amount: 1_000_000_000_000 });
  const { apiKey } = (await api(url, adminKey, "POST", `/v1/accounts/${accountId}/keys`)) as { apiKey: string };
  return apiKey;
}

/** Mean commit group size and mean time per group commit (ms) so far, from the outlet's Prometheus metrics. */
async function commitStats(url: string): Promise<{ group: number; ms: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const mean = (name: string) =>
    Number(new RegExp(`^${name}_sum (\\S+)`, "m").exec(text)?.[1] ?? Number.NaN) /
    Number(new RegExp(`^${name}_count (\\S+)`, "m").exec(text)?.[1] ?? Number.NaN);
  return { group: mean("stockroom_commit_group_size"), ms: 1000 * mean("stockroom_commit_seconds") };
}

// ---------------------------------------------------------------------------------------------

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
type Row = [string, string, string];

async function durablePhase(rows: Row[]): Promise<{ durable: number; raw: number }> {
  const durable: DurableResult[] = [];
  const raw: number[] = [];
  for (let rep = 0; rep < P.durableReps; rep++) {
    progress(
      `durable writer: ${fmt(P.durableCommands)} orders, ${fmt(DURABLE_WINDOW)} in flight, rep ${rep + 1}/${P.durableReps}`,
    );
    const d = await durableRun(rep, DURABLE_WINDOW);
    progress(
      `  ${fmt(d.cmdsPerS)} cmds/s (${fmt(d.eventsPerS)} events/s, ${d.commits} commits, ${Math.round(d.meanGroup)} cmds/commit)`,
    );
    progress(`raw better-sqlite3: the same ${fmt(d.rows.length)} group rows, the same transactions`);
    const r = rawRun(d.rows, d.groups);
    progress(`  ${fmt(r)} events/s`);
    durable.push({ ...d, rows: [] });
    raw.push(r);
  }
  progress(`durable writer: ${fmt(P.durableCommands)} orders, ${fmt(DEEP_WINDOW)} in flight`);
  const deep = await durableRun(P.durableReps, DEEP_WINDOW);
  progress(`  ${fmt(deep.cmdsPerS)} cmds/s`);
  const durableCmds = median(durable.map((d) => d.cmdsPerS));
  const durableEvents = median(durable.map((d) => d.eventsPerS));
  const rawRows = median(raw);
  rows.push([`durable writer (FULL, group commit)`, `commands/s, ${fmt(DURABLE_WINDOW)} in flight`, fmt(durableCmds)]);
  rows.push(["", "events/s", fmt(durableEvents)]);
  rows.push(["", "commands per commit (mean)", fmt(median(durable.map((d) => d.meanGroup)))]);
  rows.push(["", `commands/s, ${fmt(DEEP_WINDOW)} in flight (one run)`, fmt(deep.cmdsPerS)]);
  rows.push(["raw better-sqlite3 (same group rows)", "events/s", fmt(rawRows)]);
  rows.push(["", "= commands/s at the same events/command", fmt(rawRows / (durableEvents / durableCmds))]);
  return { durable: durableCmds, raw: rawRows };
}

async function serverPhases(
  rows: Row[],
  profileDir: string | null,
): Promise<{ http: number | null; bare: number | null; p99: number | null; batch: number | null }> {
  const work = mkdtempSync(join(tmpdir(), "stockroom-bench-outlet-"));
  try {
    const env = outletEnv(join(work, "data"));
    progress("outlet process: bootstrap and start");
    const adminKey = /^sr_\S+$/m.exec(await runCli(["admin", "bootstrap"], env))?.[0] ?? "";
    const outlet = await startOutletProcess(env, profileDir);
    for (const sku of SKUS) {
      await api(outlet.url, adminKey, "POST", "/v1/products", { sku, name: `Product ${sku}`, brand: "Acme" });
    }
    const kioskKeys = await Promise.all(KIOSKS.map((id) => account(outlet.url, adminKey, id, "kiosk")));
    const serviceKey = await account(outlet.url, adminKey, "service-1", "service");
    const result = {
      http: null as number | null,
      bare: null as number | null,
      p99: null as number | null,
      batch: null as number | null,
    };

    if (ONLY.has("http")) {
      const hono = await startHono();
      /** One autocannon run, and the server process's CPU time (user + system) per answer, in µs. */
      const load = async (url: string, server: ChildProcess, rep: number) => {
        const cpu = cpuSeconds(server.pid!);
        const r = lastJson<LoadResult>(
          await child("load", {
            url,
            keys: kioskKeys,
            connections: CONNECTIONS,
            seconds: P.httpSeconds,
            warmupSeconds: rep === 0 ? P.warmupSeconds : 0,
            seed: 100 + rep,
          } satisfies LoadConfig),
        );
        const seconds = P.httpSeconds + (rep === 0 ? P.warmupSeconds : 0);
        return { ...r, ...cpuSince(server.pid!, cpu, r.answered, seconds) };
      };
      type Run = LoadResult & ReturnType<typeof cpuSince>;
      const outletRuns: Run[] = [];
      const honoRuns: Run[] = [];
      for (let rep = 0; rep < P.httpReps; rep++) {
        const warm = rep === 0 ? ` after ${P.warmupSeconds} s warm-up` : "";
        progress(
          `http POST /v1/transact, ${CONNECTIONS} connections, ${P.httpSeconds} s${warm}, rep ${rep + 1}/${P.httpReps}`,
        );
        const o = await load(outlet.url, outlet.child, rep);
        progress(
          `  outlet: ${fmt(o.reqPerS)} req/s, p50 ${o.p50} ms, p99 ${o.p99} ms, ` +
            `${fmt(o.cpuUs)} µs CPU/request (main thread ${fmt(o.mainUs)}, ${percent(o.mainBusy)} busy), ` +
            JSON.stringify(o.statuses),
        );
        outletRuns.push(o);
        const h = await load(hono.url, hono.child, rep);
        progress(
          `  bare hono: ${fmt(h.reqPerS)} req/s, p50 ${h.p50} ms, p99 ${h.p99} ms, ` +
            `${fmt(h.cpuUs)} µs CPU/request (main thread ${fmt(h.mainUs)}, ${percent(h.mainBusy)} busy)`,
        );
        honoRuns.push(h);
      }
      await stop(hono.child);
      result.http = median(outletRuns.map((r) => r.reqPerS));
      result.bare = median(honoRuns.map((r) => r.reqPerS));
      result.p99 = median(outletRuns.map((r) => r.p99));
      rows.push([`http POST /v1/transact (${CONNECTIONS} conns)`, "writes/s", fmt(result.http)]);
      rows.push(["", "p50 / p99 ms", `${median(outletRuns.map((r) => r.p50))} / ${result.p99}`]);
      rows.push(["", "server CPU µs per request", fmt(median(outletRuns.map((r) => r.cpuUs)))]);
      rows.push(["", "  of it on the main thread (busy)", mainThread(outletRuns)]);
      rows.push([
        "",
        "non-2xx / errors (all runs)",
        `${outletRuns.reduce((n, r) => n + r.non2xx, 0)} / ${outletRuns.reduce((n, r) => n + r.errors, 0)}`,
      ]);
      const commits = await commitStats(outlet.url);
      rows.push([
        "",
        "commands per commit / ms per commit (mean)",
        `${commits.group.toFixed(1)} / ${commits.ms.toFixed(2)}`,
      ]);
      rows.push(["bare hono echo (same requests)", "req/s", fmt(result.bare)]);
      rows.push(["", "p50 / p99 ms", `${median(honoRuns.map((r) => r.p50))} / ${median(honoRuns.map((r) => r.p99))}`]);
      rows.push(["", "server CPU µs per request", fmt(median(honoRuns.map((r) => r.cpuUs)))]);
      rows.push(["", "  of it on the main thread (busy)", mainThread(honoRuns)]);
      rows.push(["", "outlet / bare hono", `${((100 * result.http) / result.bare).toFixed(1)}%`]);
    }

    if (ONLY.has("batch")) {
      const batchRuns: (BatchResult & ReturnType<typeof cpuSince>)[] = [];
      for (let rep = 0; rep < P.durableReps; rep++) {
        progress(`batch: ${BATCH_CLIENTS} clients x ${fmt(BATCH_SIZE)} commands/request, ${P.batchSeconds} s`);
        const cpu = cpuSeconds(outlet.child.pid!);
        const run = lastJson<BatchResult>(
          await child("batch", {
            url: outlet.url,
            key: serviceKey,
            accountId: "service-1",
            clients: BATCH_CLIENTS,
            perRequest: BATCH_SIZE,
            seconds: P.batchSeconds,
          } satisfies BatchConfig),
        );
        const b = { ...run, ...cpuSince(outlet.child.pid!, cpu, run.commands, P.batchSeconds) };
        progress(
          `  ${fmt(b.cmdsPerS)} cmds/s, ${b.requests} requests (p50 ${Math.round(b.p50ms)} ms), ` +
            `${b.failed} failed, ${b.cpuUs.toFixed(1)} µs server CPU/command ` +
            `(main thread ${b.mainUs.toFixed(1)}, ${percent(b.mainBusy)} busy)`,
        );
        batchRuns.push(b);
      }
      result.batch = median(batchRuns.map((r) => r.cmdsPerS));
      rows.push([`batch POST /v1/batch (${BATCH_CLIENTS} x ${BATCH_SIZE})`, "commands/s", fmt(result.batch)]);
      rows.push(["", "server CPU µs per command", median(batchRuns.map((r) => r.cpuUs)).toFixed(1)]);
      rows.push(["", "  of it on the main thread (busy)", mainThread(batchRuns, 1)]);
    }
    await stop(outlet.child);
    return result;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const began = performance.now();
  // Other work on the machine skews every figure here: the load average is printed with them.
  const loadAtStart = loadavg().map((l) => l.toFixed(1));
  const rows: Row[] = [];
  const durable = ONLY.has("durable") ? await durablePhase(rows) : { durable: null, raw: null };
  const profileDir = CPU_PROF ? mkdtempSync(join(tmpdir(), "stockroom-outlet-prof-")) : null;
  const server =
    ONLY.has("http") || ONLY.has("batch")
      ? await serverPhases(rows, profileDir)
      : { http: null, bare: null, p99: null, batch: null };
  const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
  if (durable.durable !== null)
    rows.push(["target: durable >= 100,000 cmds/s", "", verdict(durable.durable >= 100_000)]);
  if (server.http !== null && server.bare !== null && server.p99 !== null) {
    rows.push(["target: http >= 70% of bare hono", "", verdict(server.http >= 0.7 * server.bare)]);
    rows.push(["target: http p99 <= 10 ms at 64 conns", "", verdict(server.p99 <= 10)]);
  }
  if (server.batch !== null) rows.push(["target: batch >= 100,000 cmds/s", "", verdict(server.batch >= 100_000)]);
  const width = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const load = loadavg().map((l) => l.toFixed(1));
  console.log(
    `outlet bench (${QUICK ? "quick" : "full"}), node ${process.version}, ${availableParallelism()} CPUs, ` +
      `load average ${loadAtStart.join(" ")} at start, ${load.join(" ")} at end`,
  );
  for (const r of rows)
    console.log(`${r[0].padEnd(width[0]!)}  ${r[1].padEnd(width[1]!)}  ${r[2].padStart(width[2]!)}`);
  if (profileDir) console.log(`outlet CPU profile: ${profileDir}`);
  progress(`done in ${Math.round((performance.now() - began) / 1000)} s`);
  const round = (n: number | null) => (n === null ? null : Math.round(n));
  console.log(
    JSON.stringify({
      bench: "outlet",
      durable_cmds_per_s: round(durable.durable),
      // The key: events stored per second by raw inserts of the same group rows.
      raw_sqlite_rows_per_s: round(durable.raw),
      http_writes_per_s: round(server.http),
      bare_hono_per_s: round(server.bare),
      http_p99_ms: server.p99,
      batch_cmds_per_s: round(server.batch),
    }),
  );
}
const entry = ROLE === "hono" ? runHono : ROLE === "load" ? runLoad : ROLE === "batch" ? runBatch : ROLE ? null : main;
if (!entry) {
  console.error(`unknown role ${ROLE}`);
  process.exit(2);
}
entry().then(
  () => {
    if (!ROLE) for (const c of children) c.kill("SIGKILL");
  },
  (error) => {
    console.error(error);
    for (const c of children) c.kill("SIGKILL");
    process.exit(1);
  },
);
