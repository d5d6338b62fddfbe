/**
 * HQ: `npm run bench -- hq [--quick]` (or `node --import tsx bench/hq.ts [--quick]`).
 *
 * (a) ingest: a real nats-server (JetStream, temp store) is pre-filled by several simulated
 *     outlets (real engines running a seeded mix of receipts, sales, cancels, holds and
 *     checkpoints; envelopes sealed and published as docs/replication.md says: runs of up to
 *     512 KiB per message). Then HQ starts on a fresh database with a new durable consumer and
 *     applies everything: hash chain verified, engine replica and market data updated (and
 *     published on NATS), executions and orders written, last applied seq per outlet committed in
 *     the same SQLite transaction, then acked. The figure is events applied and committed per
 *     second from HQ's start (migrations, NATS connect, consumer creation included) to the commit
 *     of the last event; beside it the apply rate alone, from the consumer pulling to that commit.
 *     An unmeasured warm-up run goes first (a long-running HQ runs JIT-compiled code), then runs
 *     with SQLite synchronous FULL (HQ's default) and NORMAL alternate.
 * (b) catch-up: a real outlet node (apps/outlet) commits a backlog of 100,000 events through its
 *     writer with no NATS configured (a seeded mix: receipts, sales, cancels, holds, and the node's
 *     own checkpoints), stops, and starts again with NATS. The figure is the time from that start
 *     (recovery included) until its replicator reports every event replicated; beside it, when HQ
 *     (its own process, consuming meanwhile, as deployed) had them all applied and committed.
 *     Every repetition starts from a copy of the same stopped outlet, on a fresh nats-server.
 *
 * Figures are medians over the repetitions (quick: 1 each). Progress goes to stderr; a table,
 * then one JSON line with the headline figures, to stdout.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { cpSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { connect } from "@nats-io/transport-node";
import { Command, type CommandInput, type EventEnvelope } from "@stockroom/contracts";
import { pino } from "pino";
import { loadConfig as loadHqConfig } from "../apps/hq/src/config.ts";
import { startHq } from "../apps/hq/src/hq.ts";
import type { Aggregator } from "../apps/hq/src/ingest/aggregator.ts";
import { removeTempDirs, tempDir } from "../apps/hq/test/support/harness.ts";
import {
  ensureStream,
  prng,
  SimOutlet,
  StreamPublisher,
  skuName,
  Workload,
} from "../apps/hq/test/support/publisher.ts";
import { loadConfig as loadOutletConfig } from "../apps/outlet/src/config.ts";
import { type RunningOutlet, startOutlet } from "../apps/outlet/src/node.ts";
import { freePort, startNatsServer } from "../test/support/nats-server.ts";

const QUICK = process.argv.includes("--quick");
const HQ_BIN = fileURLToPath(new URL("../apps/hq/bin/stockroom-hq.js", import.meta.url));
const P = QUICK
  ? { outlets: 4, eventsPerOutlet: 25_000, ingestReps: 1, catchupReps: 1 }
  : { outlets: 4, eventsPerOutlet: 125_000, ingestReps: 3, catchupReps: 3 };
const BACKLOG = 100_000;
/** Events the unmeasured warm-up run applies. */
const WARM_UP_EVENTS = 50_000;
const CATCHUP_OUTLET = "catchup";
const INGEST_TARGET = 50_000;
const CATCHUP_TARGET_S = 10;

const progress = (line: string) => process.stderr.write(`[bench hq] ${line}\n`);
const seconds = (since: number) => (performance.now() - since) / 1000;
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  { everyMs = 5, timeoutMs = 300_000 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------
// (a) ingest

interface IngestRun {
  synchronous: "FULL" | "NORMAL";
  /** From HQ's start to the last commit. */
  seconds: number;
  /** From the consumer pulling to the last commit. */
  applySeconds: number;
}

/**
 * Resolves at the commit that brings every outlet to its expected seq (or the events applied to
 * `upTo`); reports progress meanwhile.
 */
function appliedAll(
  agg: Aggregator,
  expected: ReadonlyMap<string, number>,
  label: string,
  upTo = Number.POSITIVE_INFINITY,
): Promise<void> {
  let total = 0;
  for (const seq of expected.values()) total += seq;
  const target = Math.min(total, upTo);
  const applied = () => {
    let n = 0;
    for (const [id, seq] of expected) n += Math.min(agg.outlets.get(id)?.appliedSeq ?? 0, seq);
    return n;
  };
  return new Promise((resolve, reject) => {
    const finish = (error?: Error) => {
      off();
      clearInterval(report);
      if (error) reject(error);
      else resolve();
    };
    const off = agg.onCommit(() => {
      if (applied() >= target) finish();
    });
    const report = setInterval(() => {
      if (agg.failure) finish(agg.failure);
      else progress(`${label}: ${fmt(applied())} of ${fmt(total)} events applied`);
    }, 2_000);
  });
}

async function ingestRun(
  natsUrl: string,
  synchronous: IngestRun["synchronous"],
  name: string,
  expected: ReadonlyMap<string, number>,
  upTo?: number,
): Promise<IngestRun> {
  const config = loadHqConfig(
    {},
    {
      dataDir: tempDir("stockroom-hq-bench-"),
      natsUrl,
      port: 0,
      synchronous,
      consumer: `bench-${synchronous.toLowerCase()}-${name.replaceAll(" ", "-")}`,
      publishMarketData: true,
    },
  );
  const label = `ingest synchronous=${synchronous} ${name}`;
  const started = performance.now();
  const hq = await startHq(config, { logger: pino({ level: "warn" }) });
  try {
    const done = appliedAll(hq.services.aggregator, expected, label, upTo);
    await hq.consuming;
    const pulling = performance.now();
    await done;
    return { synchronous, seconds: seconds(started), applySeconds: seconds(pulling) };
  } finally {
    await hq.stop();
  }
}

async function ingestPhase(): Promise<{ events: number; messages: number; runs: IngestRun[] }> {
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  try {
    await ensureStream(nc);
    const started = performance.now();
    let events = 0;
    let messages = 0;
    const expected = new Map<string, number>();
    for (let i = 0; i < P.outlets; i++) {
      const outlet = new SimOutlet(`outlet-${i}`);
      const work = new Workload(outlet, 7 + i, { skus: 200, kiosks: 8 });
      const envelopes = [...work.setup(), ...work.run(P.eventsPerOutlet, 10_000)];
      const pub = new StreamPublisher(nc, outlet.outletId);
      await pub.publish(envelopes);
      events += envelopes.length;
      messages += pub.messages;
      expected.set(outlet.outletId, outlet.seq);
      progress(`pre-fill: outlet ${i + 1} of ${P.outlets} published (${fmt(events)} events so far)`);
    }
    progress(`pre-filled ${fmt(events)} events in ${messages} messages in ${seconds(started).toFixed(1)} s`);
    // Measured runs see warm (JIT-compiled) code, as a long-running HQ does: one run goes first.
    await ingestRun(nats.url, "FULL", "warm-up", expected, WARM_UP_EVENTS);
    const runs: IngestRun[] = [];
    // Alternating, so that a change in the machine's load weighs on both settings alike.
    for (let rep = 0; rep < P.ingestReps; rep++) {
      for (const synchronous of ["FULL", "NORMAL"] as const) {
        const run = await ingestRun(nats.url, synchronous, `run ${rep + 1}`, expected);
        runs.push(run);
        progress(
          `ingest synchronous=${synchronous} run ${rep + 1}: ${fmt(events / run.seconds)} events/s ` +
            `(${run.seconds.toFixed(2)} s from start, ${run.applySeconds.toFixed(2)} s applying)`,
        );
      }
    }
    return { events, messages, runs };
  } finally {
    await nc.close();
    await nats.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// (b) catch-up

/**
 * A seeded mix like the simulated outlets' (receipts, sales that fill, cancels, holds confirmed
 * or released, ticks), submitted through the outlet's own writer with many commands in flight so
 * they commit in groups, until its log holds `events` events.
 */
async function commitBacklog(outlet: RunningOutlet, events: number): Promise<void> {
  const { writer } = outlet.services;
  const random = prng(42);
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const skus = Array.from({ length: 200 }, (_, i) => skuName(i));
  const kiosks = Array.from({ length: 8 }, (_, i) => `kiosk-${i}`);
  const submit = (input: CommandInput, actor: string) => writer.submit(Command.parse(input), actor);

  for (const sku of skus) await submit({ type: "product.add", sku, name: `Product ${sku}`, brand: "Acme" }, "admin");
  for (const accountId of ["supplier", ...kiosks]) {
    await submit(
      { type: "account.create", accountId, role: accountId === "supplier" ? "colleague" : "kiosk" },
      "admin",
    );
    await submit({ type: "account.kyc", accountId, kyc: "verified" }, "admin");
    await submit({ type: "wallet.deposit", accountId, amount: 1_000_000_000_000 }, "admin");
  }

  // What the outlet answered decides what comes next: resting orders can be cancelled, placed holds settled.
  const resting: { orderId: number; accountId: string }[] = [];
  const holds: { holdId: string; accountId: string }[] = [];
  let holdCount = 0;
  const take = <T>(xs: T[]): T | undefined => xs.splice(Math.floor(random() * xs.length), 1)[0];
  const next = (): [CommandInput, string] => {
    const r = random();
    const sku = pick(skus);
    const kiosk = pick(kiosks);
    if (r < 0.38) {
      const order = { sku, side: "inflow", price: int(90, 110), quantity: int(1, 30), reason: "received" } as const;
      return [{ type: "order.place", accountId: "supplier", ...order }, "supplier"];
    }
    if (r < 0.66) {
      const timeInForce = random() < 0.6 ? "IOC" : "GTC";
      const order = { sku, side: "outflow", price: int(95, 115), quantity: int(1, 10), timeInForce } as const;
      return [{ type: "order.place", accountId: kiosk, ...order, reason: "sale" }, kiosk];
    }
    if (r < 0.79 && resting.length > 0) {
      const { orderId, accountId } = take(resting)!;
      return [{ type: "order.cancel", accountId, orderId }, accountId];
    }
    if (r < 0.87) {
      const lines = [{ sku, quantity: int(1, 3) }];
      if (random() < 0.3) lines.push({ sku: pick(skus), quantity: 1 });
      const hold = { holdId: `hold-${++holdCount}`, lines, ttlMs: int(1_000, 60_000) };
      return [{ type: "hold.place", accountId: kiosk, ...hold }, kiosk];
    }
    if (r < 0.96 && holds.length > 0) {
      const { holdId, accountId } = take(holds)!;
      return [{ type: random() < 0.6 ? "hold.confirm" : "hold.cancel", holdId, accountId }, accountId];
    }
    return [{ type: "tick" }, "system"];
  };
  const answered = (envelopes: EventEnvelope[], actor: string) => {
    for (const { payload: p } of envelopes) {
      if (p.type === "order.rested") resting.push({ orderId: p.orderId, accountId: actor });
      else if (p.type === "hold.placed") holds.push({ holdId: p.holdId, accountId: p.accountId });
    }
  };

  const window = 512; // commands in flight: the writer commits what is queued as one group
  let reported = 0;
  await new Promise<void>((resolve, reject) => {
    let inFlight = 0;
    const pump = () => {
      while (inFlight < window && writer.lastSeq < events) {
        const [input, actor] = next();
        inFlight++;
        submit(input, actor).then((envelopes) => {
          inFlight--;
          answered(envelopes, actor);
          if (writer.lastSeq - reported >= 20_000) {
            reported = writer.lastSeq;
            progress(`catch-up: outlet committed ${fmt(reported)} events offline`);
          }
          if (inFlight === 0 && writer.lastSeq >= events) resolve();
          else pump();
        }, reject);
      }
    };
    pump();
  });
}

/** HQ in its own process (as deployed), consuming from `natsUrl`; its /metrics tell what it applied. */
async function startHqProcess(
  natsUrl: string,
): Promise<{ appliedSeq(outletId: string): Promise<number>; stop(): Promise<void> }> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [HQ_BIN, "serve"], {
    env: {
      ...process.env,
      STOCKROOM_HQ_DATA_DIR: tempDir("stockroom-hq-bench-catchup-"),
      STOCKROOM_HQ_PORT: String(port),
      STOCKROOM_HQ_NATS_URL: natsUrl,
      STOCKROOM_HQ_LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await until(
    async () => {
      if (child.exitCode !== null) throw new Error(`HQ exited (${child.exitCode}) before it was consuming`);
      const ready = await fetch(`${url}/readyz`).then(
        (r) => r.json() as Promise<{ nats?: { consumer?: string } }>,
        () => null,
      );
      return ready?.nats?.consumer === "consuming";
    },
    "HQ consuming",
    { everyMs: 50, timeoutMs: 30_000 },
  );
  return {
    appliedSeq: async (outletId) => {
      const text = await fetch(`${url}/metrics`).then((r) => r.text());
      const line = text.split("\n").find((l) => l.startsWith(`stockroom_hq_applied_seq{outlet="${outletId}"}`));
      return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
    },
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}

interface CatchupRun {
  /** From the outlet's start to its replicator reporting every event replicated. */
  seconds: number;
  /** Of which: the node starting (recovery, HTTP) before replication began. */
  startSeconds: number;
  /** From the outlet's start to HQ having every event applied and committed. */
  hqSeconds: number;
  /** Whether HQ had them all applied when the replicator reported it was caught up. */
  hqAppliedAtCatchup: boolean;
}

async function catchupRun(seedDir: string, lastSeq: number, rep: number): Promise<CatchupRun> {
  const nats = await startNatsServer();
  const hq = await startHqProcess(nats.url).catch(async (error) => {
    await nats.stop();
    throw error;
  });
  const dataDir = tempDir("stockroom-bench-outlet-");
  cpSync(seedDir, dataDir, { recursive: true });
  let outlet: RunningOutlet | null = null;
  try {
    const config = loadOutletConfig(
      {},
      { outletId: CATCHUP_OUTLET, dataDir, port: 0, natsUrl: nats.url, tickEveryMs: 0, logLevel: "warn" },
    );
    const started = performance.now();
    outlet = await startOutlet(config);
    const startSeconds = seconds(started);
    const replicator = outlet.services.replicator!;
    const report = setInterval(
      () =>
        progress(`catch-up run ${rep + 1}: ${fmt(replicator.status().replicatedSeq)} of ${fmt(lastSeq)} replicated`),
      2_000,
    );
    try {
      await until(() => replicator.status().replicatedSeq === lastSeq, "the outlet's catch-up");
    } finally {
      clearInterval(report);
    }
    const caughtUp = seconds(started);
    const hqAppliedAtCatchup = (await hq.appliedSeq(CATCHUP_OUTLET)) === lastSeq;
    // Over HTTP: asked less often, so the asking does not slow HQ down.
    await until(async () => (await hq.appliedSeq(CATCHUP_OUTLET)) === lastSeq, "HQ applying the backlog", {
      everyMs: 50,
    });
    return { seconds: caughtUp, startSeconds, hqSeconds: seconds(started), hqAppliedAtCatchup };
  } finally {
    await outlet?.stop();
    await hq.stop();
    await nats.stop();
  }
}

async function catchupPhase(): Promise<{ events: number; commitSeconds: number; runs: CatchupRun[] }> {
  // The backlog is committed once, by an outlet that has no NATS; every run starts from a copy.
  const seedDir = tempDir("stockroom-bench-outlet-");
  const config = loadOutletConfig(
    {},
    { outletId: CATCHUP_OUTLET, dataDir: seedDir, port: 0, tickEveryMs: 0, logLevel: "warn" },
  );
  const offline = await startOutlet(config);
  const started = performance.now();
  await commitBacklog(offline, BACKLOG);
  const commitSeconds = seconds(started);
  const events = offline.services.writer.lastSeq;
  await offline.stop();
  progress(`catch-up: outlet committed ${fmt(events)} events offline in ${commitSeconds.toFixed(1)} s`);
  const runs: CatchupRun[] = [];
  for (let rep = 0; rep < P.catchupReps; rep++) {
    const run = await catchupRun(seedDir, events, rep);
    runs.push(run);
    progress(
      `catch-up run ${rep + 1}: replicated in ${run.seconds.toFixed(2)} s (start ${run.startSeconds.toFixed(2)} s), ` +
        `HQ applied all in ${run.hqSeconds.toFixed(2)} s`,
    );
  }
  return { events, commitSeconds, runs };
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const began = performance.now();
  // Other work on the machine skews every figure here: the load average is printed with them.
  const loadAtStart = loadavg().map((l) => l.toFixed(1));
  try {
    const ingest = await ingestPhase();
    const catchup = await catchupPhase();

    const rate = (s: string, key: "seconds" | "applySeconds") =>
      ingest.events / median(ingest.runs.filter((r) => r.synchronous === s).map((r) => r[key]));
    const headline = Math.round(rate("FULL", "seconds"));
    const catchupSeconds = median(catchup.runs.map((r) => r.seconds));
    const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
    console.log("");
    console.log(
      `HQ bench (${QUICK ? "quick" : "full"}), node ${process.version}, ${availableParallelism()} CPUs, ` +
        `load average ${loadAtStart.join(" ")} at start, ${loadavg()
          .map((l) => l.toFixed(1))
          .join(" ")} at end`,
    );
    console.log("");
    console.log(
      `(a) ingest: pre-filled stream → applied + committed + acked, medians of ${P.ingestReps} run(s) ` +
        `after an unmeasured warm-up run (${fmt(WARM_UP_EVENTS)} events)`,
    );
    console.log(
      `    ${P.outlets} outlets, ${fmt(ingest.events)} events, ${ingest.messages} messages (runs of ≤ 512 KiB)`,
    );
    console.log("    | SQLite synchronous | events/s from HQ start | events/s applying | runs, s from start |");
    console.log("    |---|---:|---:|---|");
    for (const s of ["FULL", "NORMAL"]) {
      const times = ingest.runs.filter((r) => r.synchronous === s).map((r) => r.seconds.toFixed(2));
      console.log(
        `    | ${s.padEnd(6)} | ${fmt(rate(s, "seconds")).padStart(9)} | ${fmt(rate(s, "applySeconds")).padStart(9)} | ${times.join(", ")} |`,
      );
    }
    console.log("    (applying: from the consumer pulling to the last commit, HQ's start excluded)");
    console.log(
      `    target ≥ ${fmt(INGEST_TARGET)} events/s from start (FULL, the default): ${verdict(headline >= INGEST_TARGET)}`,
    );
    console.log("");
    console.log(
      `(b) catch-up: a real outlet restarted with NATS after ${fmt(catchup.events)} events committed offline ` +
        `(in ${catchup.commitSeconds.toFixed(1)} s), medians of ${P.catchupReps} run(s)`,
    );
    console.log(
      "    | outlet start → all replicated | of which node start | outlet start → all applied at HQ | HQ had all at catch-up |",
    );
    console.log("    |---:|---:|---:|---|");
    const m = (f: (r: CatchupRun) => number) => `${median(catchup.runs.map(f)).toFixed(2)} s`;
    const atCatchup = catchup.runs.filter((r) => r.hqAppliedAtCatchup).length;
    console.log(
      `    | ${m((r) => r.seconds)} | ${m((r) => r.startSeconds)} | ${m((r) => r.hqSeconds)} | ${atCatchup} of ${catchup.runs.length} runs |`,
    );
    console.log(`    target < ${CATCHUP_TARGET_S} s: ${verdict(catchupSeconds < CATCHUP_TARGET_S)}`);
    progress(`done in ${Math.round(seconds(began))} s`);
    console.log(
      JSON.stringify({
        bench: "hq",
        ingest_events_per_s: headline,
        catchup_100k_s: Math.round(catchupSeconds * 100) / 100,
      }),
    );
  } finally {
    removeTempDirs();
  }
}

await main();
