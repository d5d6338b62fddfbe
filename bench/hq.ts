/**
 * HQ ingest: `npm run bench -- hq [--quick]` (or `node --import tsx bench/hq.ts [--quick]`).
 *
 * A real nats-server (JetStream, temp store) is pre-filled by several simulated outlets (real
 * engines running a seeded mix of receipts, sales, cancels, holds and checkpoints; envelopes
 * sealed and published as docs/replication.md says: runs of up to 512 KiB per message). Then
 * HQ starts on a fresh database and its durable consumer applies everything: hash chain
 * verified, engine replica and market data updated, executions and orders written, last
 * applied seq per outlet committed in the same SQLite transaction, then acked. The figure is
 * events applied and committed per second, from HQ's start to the last event committed.
 *
 * The outlet's catch-up time (`catchup_100k_s`) is measured on the outlet side: null here.
 * Progress goes to stderr; a table, then one JSON line, to stdout.
 */
import { connect } from "@nats-io/transport-node";
import { pino } from "pino";
import { loadConfig } from "../apps/hq/src/config.ts";
import { startHq } from "../apps/hq/src/hq.ts";
import { removeTempDirs, tempDir } from "../apps/hq/test/support/harness.ts";
import { ensureStream, SimOutlet, StreamPublisher, Workload } from "../apps/hq/test/support/publisher.ts";
import { startNatsServer } from "../test/support/nats-server.ts";

const QUICK = process.argv.includes("--quick");
const OUTLETS = 4;
const EVENTS_PER_OUTLET = QUICK ? 25_000 : 125_000;
const REPS = QUICK ? 1 : 2;
const progress = (line: string) => process.stderr.write(`[bench hq] ${line}\n`);

async function main(): Promise<void> {
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  try {
    await ensureStream(nc);
    let started = performance.now();
    let total = 0;
    let messages = 0;
    const expected = new Map<string, number>();
    for (let i = 0; i < OUTLETS; i++) {
      const outlet = new SimOutlet(`outlet-${i}`);
      const work = new Workload(outlet, 7 + i, { skus: 200, kiosks: 8 });
      const envelopes = [...work.setup(), ...work.run(EVENTS_PER_OUTLET, 10_000)];
      const pub = new StreamPublisher(nc, outlet.outletId);
      await pub.publish(envelopes);
      total += envelopes.length;
      messages += pub.messages;
      expected.set(outlet.outletId, outlet.seq);
    }
    const fillSeconds = (performance.now() - started) / 1000;
    progress(
      `pre-filled ${total} events in ${messages} messages from ${OUTLETS} outlets in ${fillSeconds.toFixed(1)} s`,
    );

    const runs: { synchronous: "FULL" | "NORMAL"; seconds: number; rate: number }[] = [];
    for (const synchronous of ["FULL", "NORMAL"] as const) {
      for (let rep = 0; rep < REPS; rep++) {
        const dataDir = tempDir("stockroom-hq-bench-");
        const config = loadConfig(
          {},
          {
            dataDir,
            natsUrl: nats.url,
            port: 0,
            synchronous,
            consumer: `bench-${synchronous.toLowerCase()}-${rep}`,
            publishMarketData: true,
          },
        );
        started = performance.now();
        const hq = await startHq(config, { logger: pino({ level: "warn" }) });
        const agg = hq.services.aggregator;
        for (;;) {
          if ([...expected].every(([id, seq]) => agg.outlets.get(id)?.appliedSeq === seq)) break;
          if (agg.failure) throw agg.failure;
          await new Promise((r) => setTimeout(r, 5));
        }
        const seconds = (performance.now() - started) / 1000;
        await hq.stop();
        const rate = total / seconds;
        runs.push({ synchronous, seconds, rate });
        progress(
          `synchronous=${synchronous} run ${rep + 1}: ${total} events in ${seconds.toFixed(2)} s = ${Math.round(rate)} events/s`,
        );
      }
    }
    const best = (s: string) => Math.max(...runs.filter((r) => r.synchronous === s).map((r) => r.rate));
    const headline = Math.round(best("FULL"));
    console.log("");
    console.log("HQ ingest (pre-filled stream → applied + committed + acked)");
    console.log(`  outlets ${OUTLETS}, events ${total}, messages ${messages} (runs of ≤ 512 KiB)`);
    console.log("  | SQLite synchronous | best events/s | runs (s) |");
    console.log("  |---|---:|---|");
    for (const s of ["FULL", "NORMAL"]) {
      const times = runs.filter((r) => r.synchronous === s).map((r) => r.seconds.toFixed(2));
      console.log(`  | ${s.padEnd(6)} | ${String(Math.round(best(s))).padStart(9)} | ${times.join(", ")} |`);
    }
    console.log(`  target ≥ 50,000 events/s (FULL, the default): ${headline >= 50_000 ? "met" : "NOT met"}`);
    console.log(JSON.stringify({ bench: "hq", ingest_events_per_s: headline, catchup_100k_s: null }));
  } finally {
    await nc.close();
    await nats.stop();
    removeTempDirs();
  }
}

await main();
