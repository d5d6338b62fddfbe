/**
 * Invariant 5: an acknowledged command survives a crash (kill -9) of the outlet.
 *
 * A real outlet process (the CLI, synchronous FULL, a snapshot every 500 events or 1 s) takes
 * concurrent writes from a separate load-driver process (test/support/crash-load.ts) that
 * appends every acknowledged answer to a file. The outlet is SIGKILLed at seeded random
 * moments and restarted (taking over the dead process's pid lock) many times. After each
 * kill, on a copy of the crashed files:
 *   - every acknowledged command is in the log at the seq it was answered with, and its
 *     Idempotency-Key's stored answer, as a repeat gets it back (its quoted events' hashes
 *     filled in from the log), is byte-identical to the one acknowledged;
 *   - no order or hold took effect twice, although in-doubt requests were sent again;
 *   - seqs are gapless from 1, the hash chain holds, and the newest snapshot plus the tail gives
 *     the digest of a replay from scratch (checked here with the outlet's own EventLog and
 *     recover(), and by `stockroom-outlet verify` on every VERIFY_EVERY-th round);
 * and the restarted node recovers exactly the crashed log's head. At the end the driver is
 * stopped, every retried acknowledged request and a sample of the others is sent again and must
 * get the byte-identical answer, and the final log passes the same checks and `verify`.
 *
 * The kill moments and the request mix come from SEED; a failure names the seed and the round.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { withHashes } from "../apps/outlet/src/api/quoted-events.ts";
import { openDb } from "../apps/outlet/src/storage/db.ts";
import { EventLog } from "../apps/outlet/src/storage/event-log.ts";
import { recover } from "../apps/outlet/src/writer/recovery.ts";
import { type Ack, type CrashLoadConfig, prng } from "./support/crash-load.ts";
import { freePort } from "./support/nats-server.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "apps/outlet/bin/stockroom-outlet.js");
const DRIVER = join(ROOT, "test/support/crash-load.ts");
const OUTLET_ID = "crash-1";
const SEED = 20_240_611;
const ROUNDS = 12;
const MIN_ROUNDS = 8;
/** Stop starting new rounds after this long (once MIN_ROUNDS are done), to stay under a minute. */
const ROUNDS_BUDGET_MS = 25_000;
/** `stockroom-outlet verify` runs on the crashed files of rounds 1, 1 + VERIFY_EVERY, … and on the final log. */
const VERIFY_EVERY = 3;
/** Acknowledged requests sent again at the end, besides every one that was retried. */
const REPLAY_SAMPLE = 400;
const SKUS = ["SKU-A", "SKU-B", "SKU-C", "SKU-D"];

const work = mkdtempSync(join(tmpdir(), "stockroom-crash-"));
const dataDir = join(work, "data");
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

function outletEnv(dir: string, port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("STOCKROOM_")) delete env[name];
  return {
    ...env,
    STOCKROOM_OUTLET_ID: OUTLET_ID,
    STOCKROOM_DATA_DIR: dir,
    STOCKROOM_HOST: "127.0.0.1",
    STOCKROOM_PORT: String(port),
    STOCKROOM_SYNCHRONOUS: "FULL",
    STOCKROOM_SNAPSHOT_EVERY_EVENTS: "500",
    // Also by time: an incarnation that dies before 500 events of its own never snapshots
    // (the writer does not count the tail it recovered), and this test restarts often.
    STOCKROOM_SNAPSHOT_EVERY_MS: "1000",
    STOCKROOM_RATE_LIMIT_PER_SECOND: "1000000",
    STOCKROOM_RATE_LIMIT_BURST: "1000000",
    STOCKROOM_TICK_EVERY_MS: "250",
    STOCKROOM_LOG_LEVEL: "info",
  };
}

/** Runs the outlet CLI to completion. */
function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.once("error", reject);
    child.once("close", (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

async function cliOk(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const { code, stdout, stderr } = await cli(args, env);
  if (code !== 0) throw new Error(`stockroom-outlet ${args.join(" ")} exited ${code}: ${stderr}${stdout}`);
  return stdout;
}

const apiKeyIn = (stdout: string) => stdout.match(/^sr_\S+$/m)?.[0] ?? "";

interface Outlet {
  child: ChildProcess;
  pid: number;
  recovered: { seq: number; fromSnapshot: number; replayed: number };
}

/** Log lines at error level or above, from every incarnation. */
const outletErrors: string[] = [];

/** `stockroom-outlet serve`, resolved once it listens, with what its "recovered" line said. */
function serve(env: NodeJS.ProcessEnv): Promise<Outlet> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "serve"], { env, stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    child.once("exit", () => children.delete(child));
    let recovered: Outlet["recovered"] | null = null;
    let buffered = "";
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.on("data", (d: Buffer) => {
      buffered += d;
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let entry: { level?: number; msg?: string; seq?: number; fromSnapshot?: number; replayed?: number };
        try {
          entry = JSON.parse(line);
        } catch {
          continue;
        }
        if ((entry.level ?? 0) >= 50) outletErrors.push(line);
        if (entry.msg === "recovered") {
          recovered = { seq: entry.seq!, fromSnapshot: entry.fromSnapshot!, replayed: entry.replayed! };
        }
        if (entry.msg === "outlet serving" && recovered) resolve({ child, pid: child.pid!, recovered });
      }
    });
    child.once("exit", (code, signal) =>
      reject(new Error(`outlet exited (${code ?? signal}) while starting: ${stderr}`)),
    );
  });
}

function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.kill(signal);
  });
}

/** Complete lines of the ack file (the driver may be writing the next one). */
function readAcks(file: string): Ack[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, "utf8");
  return text
    .slice(0, text.lastIndexOf("\n") + 1)
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Ack);
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * The log one row per event, as a temporary table `events` (seq, type, actor, payload), from the
 * groups it is stored in (one row per commit: see event_groups in apps/outlet/src/storage/schema.ts).
 */
function explodeGroups(db: Database.Database): void {
  db.exec("CREATE TEMP TABLE events (seq INTEGER PRIMARY KEY, type TEXT NOT NULL, actor TEXT NOT NULL, payload TEXT)");
  const insert = db.prepare("INSERT INTO temp.events (seq, type, actor, payload) VALUES (?, ?, ?, ?)");
  const groups = db.prepare("SELECT first_seq, types, actors, payloads FROM event_groups ORDER BY first_seq").all() as {
    first_seq: number;
    types: string;
    actors: string;
    payloads: string;
  }[];
  db.transaction(() => {
    for (const g of groups) {
      const [types, actors, payloads] = [g.types, g.actors, g.payloads].map((column) => column.split("\n"));
      for (let i = 0; i < types!.length; i++) insert.run(g.first_seq + i, types![i], actors![i], payloads![i]);
    }
  })();
}

/**
 * Checks a database (a copy of a crashed one, or the final one) against the acknowledged
 * answers. Returns the failures (empty: all good) and the log's head.
 */
function checkLog(file: string, acks: Ack[]): { failures: string[]; head: number; snapshots: number } {
  const db = new Database(file);
  // The outlet's own reading of the log, to complete stored answers as a repeat gets them.
  const log = new EventLog(openDb(file), OUTLET_ID);
  const failures: string[] = [];
  const fail = (what: string) => {
    if (failures.length < 25) failures.push(what);
  };
  try {
    explodeGroups(db);
    const range = db.prepare("SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi FROM events").get() as {
      n: number;
      lo: number | null;
      hi: number | null;
    };
    const head = range.hi ?? 0;
    if (range.n !== head || (range.n > 0 && range.lo !== 1)) {
      fail(`seqs are not gapless from 1: ${range.n} events, seq ${range.lo}..${range.hi}`);
    }
    const eventAt = db.prepare("SELECT type, actor, payload FROM events WHERE seq = ?");
    const stored = db.prepare("SELECT status, response FROM idempotency_keys WHERE account_id = ? AND key = ?");
    const holds = new Map<string, { placedBy: string | null; confirmed: boolean; released: boolean }>();
    for (const row of db
      .prepare("SELECT type, payload FROM events WHERE type IN ('hold.placed', 'hold.confirmed', 'hold.released')")
      .iterate() as Iterable<{ type: string; payload: string }>) {
      const p = JSON.parse(row.payload) as { holdId: string; reference?: string };
      const h = holds.get(p.holdId) ?? { placedBy: null, confirmed: false, released: false };
      if (row.type === "hold.placed") h.placedBy = p.reference ?? null;
      if (row.type === "hold.confirmed") h.confirmed = true;
      if (row.type === "hold.released") h.released = true;
      holds.set(p.holdId, h);
    }
    for (const ack of acks) {
      const what = `${ack.t} ${ack.key} (${ack.status}${ack.seq ? ` at seq ${ack.seq}` : ""})`;
      if (ack.t === "error") {
        fail(`server error: ${what}`);
        continue;
      }
      const answer = stored.get(ack.account, ack.key) as { status: number; response: string } | undefined;
      if (!answer) fail(`acknowledged but its Idempotency-Key has no stored answer: ${what}`);
      else if (answer.status !== ack.status || sha256(withHashes(answer.response, log)) !== ack.hash) {
        fail(`stored answer differs from the acknowledged one: ${what}`);
      }
      if (ack.seq !== null) {
        const row = eventAt.get(ack.seq) as { type: string; actor: string; payload: string } | undefined;
        if (!row) {
          fail(`acknowledged seq is missing from the log: ${what}`);
          continue;
        }
        const p = JSON.parse(row.payload);
        const ok =
          row.actor === ack.account &&
          (ack.status >= 400
            ? row.type === "command.rejected" && (p.command.reference ?? ack.key) === ack.key
            : ack.t === "order"
              ? row.type === "order.accepted" && p.orderId === ack.orderId && p.reference === ack.key
              : ack.t !== "cancel" || (row.type === "order.cancelled" && ack.path.endsWith(`/${p.orderId}`)));
        if (!ok) fail(`the log's event at seq ${ack.seq} is not this command's: ${what}: ${row.type}`);
      }
      if (ack.holdId !== null && ack.status < 300) {
        const h = holds.get(ack.holdId);
        if (ack.t === "hold" && h?.placedBy !== ack.key) fail(`acknowledged hold not placed in the log: ${what}`);
        if (ack.t === "confirm" && !h?.confirmed) fail(`acknowledged confirm not in the log: ${what}`);
        if (ack.t === "release" && !h?.released) fail(`acknowledged hold cancel not in the log: ${what}`);
      }
    }
    // Exactly once: in-doubt requests were sent again, yet no order or hold took effect twice.
    const twice = db
      .prepare(
        `SELECT ref, count(*) AS n FROM (
           SELECT json_extract(payload, '$.reference') AS ref FROM events WHERE type IN ('order.accepted', 'hold.placed')
           UNION ALL
           SELECT json_extract(payload, '$.command.reference') FROM events WHERE type = 'command.rejected'
         ) WHERE ref IS NOT NULL GROUP BY ref HAVING n > 1 LIMIT 10`,
      )
      .all() as { ref: string; n: number }[];
    for (const t of twice) fail(`request ${t.ref} took effect ${t.n} times`);
    const snapshots = (db.prepare("SELECT count(*) AS n FROM snapshots").get() as { n: number }).n;
    return { failures, head, snapshots };
  } finally {
    db.close();
    log.close();
  }
}

/** Copies the database files exactly as the crash left them. */
function copyCrashed(to: string): string {
  mkdirSync(to, { recursive: true });
  for (const suffix of ["", "-wal", "-shm"]) {
    const from = join(dataDir, `outlet.db${suffix}`);
    if (existsSync(from)) copyFileSync(from, join(to, `outlet.db${suffix}`));
  }
  return join(to, "outlet.db");
}

/** `stockroom-outlet verify` on a data dir; returns the failures. */
async function verify(dir: string, head: number, port: number): Promise<string[]> {
  const { code, stdout, stderr } = await cli(["verify"], outletEnv(dir, port));
  const failures: string[] = [];
  if (code !== 0) failures.push(`verify exited ${code} on ${dir}: ${stderr}${stdout}`);
  const events = Number(stdout.match(/hash chain ok: (\d+) events/)?.[1] ?? -1);
  if (events !== head) failures.push(`verify saw ${events} events in ${dir}, the log's head is ${head}`);
  if (/snapshot at seq/.test(stdout) && !/same digest/.test(stdout)) failures.push(`verify: ${stdout}`);
  return failures;
}

/**
 * What `stockroom-outlet verify` checks, in this process: the whole hash chain from scratch, and
 * the newest snapshot plus the tail giving the same digest as that replay.
 */
function recoverCheck(file: string, head: number): { failures: string[]; fromSnapshot: number } {
  const log = new EventLog(openDb(file), OUTLET_ID);
  try {
    const scratch = recover(log, { fromScratch: true });
    const fromSnapshot = recover(log);
    const failures: string[] = [];
    if (scratch.head.seq !== head) failures.push(`replay from scratch ends at ${scratch.head.seq}, not ${head}`);
    if (fromSnapshot.head.hash !== scratch.head.hash) failures.push("snapshot + tail ends at another head");
    if (fromSnapshot.engine.digest() !== scratch.engine.digest()) {
      failures.push(`snapshot at ${fromSnapshot.fromSnapshot} + tail: digest differs from a replay from scratch`);
    }
    return { failures, fromSnapshot: fromSnapshot.fromSnapshot };
  } catch (error) {
    return { failures: [`recovery failed: ${(error as Error).message}`], fromSnapshot: 0 };
  } finally {
    // The log's close, not the connection's: it stops the log's worker, which would go on
    // indexing in this directory.
    log.close();
  }
}

describe("crash safety: kill -9 under concurrent load", () => {
  it("keeps every acknowledged command, gapless and verifiable, across repeated SIGKILLs", async () => {
    const started = Date.now();
    const random = prng(SEED);
    const port = await freePort();
    const env = outletEnv(dataDir, port);
    const url = `http://127.0.0.1:${port}`;
    const ackFile = join(work, "acks.jsonl");
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

    // Accounts before the first start: the admin, and a funded, verified kiosk.
    const adminKey = apiKeyIn(await cliOk(["admin", "bootstrap"], env));
    const kioskKey = apiKeyIn(
      await cliOk(
        ["admin", "create-account", "kiosk-a", "--role", "kiosk", "--verify", "--deposit", "1000000000000", "--key"],
        env,
      ),
    );
    expect(adminKey).toMatch(/^sr_/);
    expect(kioskKey).toMatch(/^sr_/);
    const accounts: CrashLoadConfig["accounts"] = [
      { id: "kiosk-a", key: kioskKey },
      { id: "admin", key: adminKey },
    ];

    let outlet = await serve(env);
    const admin = (path: string, body: unknown) =>
      fetch(url + path, {
        method: "POST",
        headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await admin("/v1/accounts/admin/deposit", { amount: 1_000_000_000_000 })).status).toBe(200);
    for (const sku of SKUS) {
      expect((await admin("/v1/products", { sku, name: `Product ${sku}`, brand: "Acme" })).status).toBe(201);
    }

    const driverConfig: CrashLoadConfig = { url, accounts, skus: SKUS, ackFile, seed: SEED, concurrency: 24 };
    const driver = spawn(process.execPath, ["--import", "tsx", DRIVER, JSON.stringify(driverConfig)], {
      cwd: ROOT,
      stdio: ["ignore", "inherit", "inherit"],
    });
    children.add(driver);
    let driverExit: string | null = null;
    driver.once("exit", (code, signal) => (driverExit = `${code ?? signal}`));

    const failures: string[] = [];
    const verifications: Promise<void>[] = [];
    const rounds: { delay: number; head: number; acks: number; fromSnapshot: number; replayed: number }[] = [];
    // Let the driver get going before the first kill.
    while (readAcks(ackFile).length < 100 && Date.now() - started < 30_000) await sleep(50);

    const roundsStarted = Date.now();
    for (let round = 1; round <= ROUNDS; round++) {
      if (round > MIN_ROUNDS && Date.now() - roundsStarted > ROUNDS_BUDGET_MS) break;
      // Mostly under steady load; sometimes right after the restart, as the clients' retries land.
      const delay = random() < 0.25 ? Math.floor(random() * 60) : 200 + Math.floor(random() * 900);
      await sleep(delay);
      const killedPid = outlet.pid;
      await kill(outlet.child, "SIGKILL");
      expect(driverExit, "the load driver died").toBeNull();
      // Answers already on the wire when the outlet died are recorded by now.
      await sleep(50);
      const acks = readAcks(ackFile);
      const lock = join(dataDir, "outlet.lock.pid");
      expect(readFileSync(lock, "utf8"), "the dead outlet's pid lock is left behind").toBe(String(killedPid));

      // Two copies of the crashed files: one checked here, one for `stockroom-outlet verify`.
      const checkDir = join(work, `crash-${round}`);
      const copy = checkLog(copyCrashed(checkDir), acks);
      const recovered = recoverCheck(join(checkDir, "outlet.db"), copy.head);
      rmSync(checkDir, { recursive: true, force: true });
      failures.push(...[...copy.failures, ...recovered.failures].map((f) => `round ${round}: ${f}`));
      if (round % VERIFY_EVERY === 1) {
        const verifyDir = join(work, `verify-${round}`);
        copyCrashed(verifyDir);
        verifications.push(
          verify(verifyDir, copy.head, port).then((fs) => {
            failures.push(...fs.map((f) => `round ${round}: ${f}`));
            rmSync(verifyDir, { recursive: true, force: true });
          }),
        );
      }

      outlet = await serve(env);
      expect(readFileSync(lock, "utf8"), "the restarted outlet took the lock over").toBe(String(outlet.pid));
      expect(outlet.recovered.seq, `round ${round}: recovered head`).toBe(copy.head);
      rounds.push({
        delay,
        head: copy.head,
        acks: acks.length,
        fromSnapshot: outlet.recovered.fromSnapshot,
        replayed: outlet.recovered.replayed,
      });
    }
    await Promise.all(verifications);

    // Load on the last incarnation for a moment, then stop the driver.
    await sleep(300);
    await kill(driver, "SIGTERM");
    const acks = readAcks(ackFile);

    // Every acknowledged request sent again (all retried ones, and a sample of the rest) gets the same answer.
    const replay = acks.filter((a) => a.t !== "error" && (a.retried || random() < REPLAY_SAMPLE / acks.length));
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < replay.length) {
          const ack = replay[next++]!;
          const key = accounts.find((a) => a.id === ack.account)!.key;
          const res = await fetch(url + ack.path, {
            method: ack.method,
            headers: {
              authorization: `Bearer ${key}`,
              "idempotency-key": ack.key,
              ...(ack.body === null ? {} : { "content-type": "application/json" }),
            },
            body: ack.body,
          });
          const text = await res.text();
          if (res.status !== ack.status || sha256(text) !== ack.hash) {
            failures.push(`repeat of ${ack.t} ${ack.key} answered ${res.status} ${text.slice(0, 200)}`);
          }
        }
      }),
    );

    expect(await kill(outlet.child, "SIGTERM"), "graceful stop").toBe(0);
    const final = checkLog(join(dataDir, "outlet.db"), acks);
    failures.push(...final.failures.map((f) => `final: ${f}`));
    failures.push(...(await verify(dataDir, final.head, port)).map((f) => `final: ${f}`));
    const recovered = recoverCheck(join(dataDir, "outlet.db"), final.head);
    failures.push(...recovered.failures.map((f) => `final: ${f}`));

    const retried = acks.filter((a) => a.retried).length;
    const rejected = acks.filter((a) => a.status >= 400).length;
    console.log(
      `crash safety (seed ${SEED}): ${rounds.length} kills in ${Math.round((Date.now() - started) / 1000)} s; ` +
        `${acks.length} acknowledged writes (${retried} after an in-doubt retry, ${rejected} rejections, ` +
        `${replay.length} sent again), ${final.head} events, ${final.snapshots} snapshots; ` +
        `recoveries (head@snapshot+tail): ${rounds.map((r) => `${r.head}@${r.fromSnapshot}+${r.replayed}`).join(" ")}`,
    );
    expect(failures).toEqual([]);
    expect(outletErrors, "the outlet logged errors").toEqual([]);
    expect(rounds.length).toBeGreaterThanOrEqual(MIN_ROUNDS);
    expect(recovered.fromSnapshot, "the final log has a snapshot to recover from").toBeGreaterThan(0);
    expect(
      rounds.some((r) => r.fromSnapshot > 0),
      "some restart recovered from a snapshot",
    ).toBe(true);
    expect(retried, "some writes were in doubt at a kill and sent again").toBeGreaterThan(0);
  }, 120_000);
});
