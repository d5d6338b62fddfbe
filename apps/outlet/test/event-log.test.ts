import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, type CommandInput, type EventEnvelope, hashEnvelope, verifyChain } from "@stockroom/contracts";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import { afterEach, describe, expect, it } from "vitest";
import { openDb } from "../src/storage/db.ts";
import { createIndexer } from "../src/storage/event-indexer.js";
import { type EventFilter, EventLog } from "../src/storage/event-log.ts";
import { CorruptLogError, recover } from "../src/writer/recovery.ts";
import { Writer } from "../src/writer/writer.ts";

const MIGRATIONS = fileURLToPath(new URL("../drizzle", import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "stockroom-log-"));
  dirs.push(dir);
  return dir;
}

const SKUS = ["A", "B", "C"];
const ACCOUNTS = ["s", "b", "k"];

/**
 * A log with products, accounts, resting and crossing orders on three skus, rejections and a
 * hold, in groups of different sizes and times; `file` null: in memory (no log worker).
 */
async function makeLog(file: string | null) {
  const log = new EventLog(openDb(file ?? ":memory:"), "outlet-1");
  const { engine, head } = recover(log);
  let clock = 1_700_000_000_000;
  const writer = new Writer(log, engine, head, { snapshotEveryEvents: 400, now: () => (clock += 1_000) });
  const submit = (c: CommandInput, actor = "admin") => writer.submit(Command.parse(c), actor);
  for (const sku of SKUS) await submit({ type: "product.add", sku, name: sku, brand: "B" });
  for (const id of ACCOUNTS) {
    await submit({ type: "account.create", accountId: id, role: "kiosk" });
    await submit({ type: "account.kyc", accountId: id, kyc: "verified" });
    await submit({ type: "wallet.deposit", accountId: id, amount: 100_000_000 });
  }
  for (let round = 0; round < 6; round++) {
    await Promise.all(
      Array.from({ length: 40 + round * 30 }, (_, i) => {
        const accountId = ACCOUNTS[(i + round) % 3]!;
        const sku = SKUS[i % 3]!;
        const inflow = (i + round) % 2 === 0;
        return submit(
          i % 17 === 5
            ? { type: "order.place", accountId, sku: "NOPE", side: "inflow", price: 1, quantity: 1 }
            : {
                type: "order.place",
                accountId,
                sku,
                side: inflow ? "inflow" : "outflow",
                price: inflow ? 100 + (i % 3) : 105,
                quantity: 1 + (i % 4),
                timeInForce: inflow ? "GTC" : "IOC",
              },
          accountId,
        );
      }),
    );
  }
  await submit(
    { type: "hold.place", holdId: "h1", accountId: "b", lines: [{ sku: "A", quantity: 1 }], ttlMs: 60_000 },
    "b",
  );
  return { log, writer };
}

/** What every filter must answer: the whole log, filtered one event at a time. */
/** The skus an event names: its own, its cart's, or those of the command it refused. */
function skusNamed(e: EventEnvelope): string[] {
  const named = (e.payload.type === "command.rejected" ? e.payload.command : e.payload) as {
    sku?: string;
    lines?: { sku: string }[];
  };
  return named.sku !== undefined ? [named.sku] : (named.lines ?? []).map((line) => line.sku);
}

function bruteForce(log: EventLog, f: EventFilter): EventEnvelope[] {
  return [...log.read(0)]
    .filter(
      (e) =>
        e.seq > f.after &&
        e.seq <= f.upTo &&
        (f.type === undefined || e.type === f.type) &&
        (f.actor === undefined || e.actor === f.actor) &&
        (f.sku === undefined || skusNamed(e).includes(f.sku)) &&
        (f.orderId === undefined ||
          (e.payload.type === "execution" &&
            (e.payload.inflowOrderId === f.orderId || e.payload.outflowOrderId === f.orderId))),
    )
    .slice(0, f.limit);
}

function filters(log: EventLog): EventFilter[] {
  const head = log.head().seq;
  const all = { after: 0, upTo: Number.MAX_SAFE_INTEGER, limit: 100_000 };
  const firstExecution = [...log.readExecutions()][0]!;
  const orderId = (firstExecution.payload as { inflowOrderId: number }).inflowOrderId;
  return [
    all,
    { ...all, sku: "A" },
    { ...all, sku: "B", limit: 7 },
    { ...all, sku: "C", after: Math.floor(head / 3), upTo: Math.floor((2 * head) / 3) },
    { ...all, actor: "s" },
    { ...all, actor: "b", sku: "A" },
    { ...all, actor: "k", after: head - 50, limit: 5 },
    { ...all, type: "execution" },
    { ...all, type: "execution", sku: "B", limit: 3 },
    { ...all, type: "execution", orderId },
    { ...all, type: "command.rejected", actor: "k" },
    { ...all, sku: "NOPE" },
    { ...all, actor: "nobody" },
  ];
}

describe("event log: groups and the audit index", () => {
  it("stores one row per committed group, every envelope keeping its own seq, prevHash and hash", async () => {
    const { log } = await makeLog(null);
    const sqlite = log.db.$client;
    const groups = sqlite.prepare("SELECT count(*) AS n FROM event_groups").get() as { n: number };
    const events = [...log.read(0)];
    expect(groups.n).toBeLessThan(events.length / 2);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    for (const [i, [e, json]] of [...log.readSealed(0)].entries()) {
      expect(e.prevHash).toBe(i === 0 ? "0".repeat(64) : events[i - 1]!.hash);
      expect(hashEnvelope(e, json)).toBe(e.hash);
      expect(hashEnvelope(e)).toBe(e.hash);
      expect(JSON.parse(json)).toEqual(e.payload);
    }
    // Reads at any bounds, across group boundaries.
    expect([...log.read(5, 9)].map((e) => e.seq)).toEqual([6, 7, 8, 9]);
    expect([...log.read(events.length - 3)].map((e) => e.seq)).toEqual([-2, -1, 0].map((d) => events.length + d));
    expect(log.readJson(10, 4).map((j) => JSON.parse(j))).toEqual(events.slice(10, 14));
    expect(log.readJson(10, 100, 12)).toHaveLength(2);
    expect(log.head()).toEqual({ seq: events.length, hash: events.at(-1)!.hash, ts: events.at(-1)!.ts });
    const mid = events[Math.floor(events.length / 2)]!;
    expect(log.lastSeqAt(mid.ts)).toBe(events.filter((e) => e.ts <= mid.ts).at(-1)!.seq);
    expect(log.lastSeqAt(mid.ts - 1)).toBe(events.filter((e) => e.ts < mid.ts).at(-1)!.seq);
    expect(log.lastSeqAt(0)).toBe(0);
    log.close();
  });

  it("stores a large group in rows of bounded size that read back as one unbroken chain", async () => {
    const log = new EventLog(openDb(join(tempDir(), "outlet.db")), "outlet-1");
    const { engine, head } = recover(log);
    // One clock reading: every event shares a ts, so only the size bound splits the group.
    const writer = new Writer(log, engine, head, { now: () => 1_700_000_000_000 });
    const name = "n".repeat(200);
    await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        writer.submit(Command.parse({ type: "product.add", sku: `SKU-${i}`, name, brand: "B" }), "admin"),
      ),
    );
    const rows = log.db.$client
      .prepare(
        "SELECT first_seq AS first, last_seq AS last, length(payloads) AS chars FROM event_groups ORDER BY first_seq",
      )
      .all() as { first: number; last: number; chars: number }[];
    expect(rows.length).toBeGreaterThan(2);
    for (const [i, row] of rows.entries()) {
      expect(row.first).toBe(i === 0 ? 1 : rows[i - 1]!.last + 1);
      // Closed at the first event that reaches 32 KiB: at most one payload (~300 chars) past it.
      expect(row.chars).toBeLessThan(32 * 1024 + 400);
    }
    const events = [...log.read(0)];
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
    expect(verifyChain(events)).toBeNull();
    expect(recover(log, { fromScratch: true }).engine.digest()).toBe(engine.digest());
    log.close();
  });

  it("answers every query the same whether the index has caught up, partly or not at all", async () => {
    const { log } = await makeLog(null);
    const head = log.head().seq;
    expect(log.indexedUpTo()).toBe(0);
    const expected = filters(log).map((f) => bruteForce(log, f));
    expect(expected.every((answer, i) => i === 0 || answer.length < expected[0]!.length)).toBe(true);
    expect(expected.slice(1, 11).every((answer) => answer.length > 0)).toBe(true);
    const answers = () => filters(log).map((f) => log.find(f));
    expect(answers()).toEqual(expected);
    // Part of the way (the cursor stops inside a group), then the rest.
    expect(log.catchUpIndex(Math.floor(head / 2) + 3)).toBe(Math.floor(head / 2) + 3);
    expect(log.indexedUpTo()).toBe(Math.floor(head / 2) + 3);
    expect(answers()).toEqual(expected);
    expect(log.catchUpIndex()).toBe(head - Math.floor(head / 2) - 3);
    expect(log.indexedUpTo()).toBe(head);
    expect(answers()).toEqual(expected);
    expect(log.catchUpIndex()).toBe(0);
    log.close();
  });

  it("indexes across groups in one step, and stops at its limit inside one or when asked", async () => {
    const { log } = await makeLog(null);
    const head = log.head().seq;
    const groups = log.db.$client.prepare("SELECT count(*) FROM event_groups").pluck().get() as number;
    expect(groups).toBeGreaterThan(10);
    const step = createIndexer(log.db.$client);
    expect(step(7)).toBe(7);
    expect(log.indexedUpTo()).toBe(7);
    // Asked to stop (the writer waits): it ends at its next check, within 64 events.
    const stopped = step(Number.MAX_SAFE_INTEGER, () => true);
    expect(stopped).toBeGreaterThan(0);
    expect(stopped).toBeLessThanOrEqual(64);
    expect(log.indexedUpTo()).toBe(7 + stopped);
    expect(step(Number.MAX_SAFE_INTEGER)).toBe(head - 7 - stopped);
    expect(log.indexedUpTo()).toBe(head);
    expect(step(Number.MAX_SAFE_INTEGER)).toBe(0);
    expect(filters(log).map((f) => log.find(f))).toEqual(filters(log).map((f) => bruteForce(log, f)));
    log.close();
  });

  it("the log worker indexes in the background, and the API's answers do not change", async () => {
    const file = join(tempDir(), "outlet.db");
    const { log, writer } = await makeLog(file);
    const expected = filters(log).map((f) => bruteForce(log, f));
    expect(filters(log).map((f) => log.find(f))).toEqual(expected);
    await expect.poll(() => log.indexedUpTo(), { timeout: 30_000, interval: 50 }).toBe(writer.lastSeq);
    expect(filters(log).map((f) => log.find(f))).toEqual(expected);
    log.close();
  });
});

describe("event log: recovery and verification of groups", () => {
  async function damaged(damage: (sqlite: Database.Database, group: { first: number; last: number }) => void) {
    const file = join(tempDir(), "outlet.db");
    const { log } = await makeLog(file);
    // A group of several events well after the last snapshot's seq... or before it: from scratch.
    const group = log.db.$client
      .prepare(
        "SELECT first_seq AS first, last_seq AS last FROM event_groups WHERE last_seq - first_seq >= 10 ORDER BY first_seq DESC LIMIT 1",
      )
      .get() as { first: number; last: number };
    damage(log.db.$client, group);
    log.close();
    const reopened = new EventLog(openDb(file), "outlet-1");
    dirs.push(file);
    return { reopened, group };
  }

  it("detects a payload altered inside a group", async () => {
    const { reopened, group } = await damaged((sqlite, g) => {
      const row = sqlite.prepare("SELECT payloads FROM event_groups WHERE first_seq = ?").get(g.first) as {
        payloads: string;
      };
      const lines = row.payloads.split("\n");
      // Same JSON value, other bytes: the hash covers the stored text.
      lines[3] = lines[3]!.replace(/^\{/, "{ ");
      sqlite.prepare("UPDATE event_groups SET payloads = ? WHERE first_seq = ?").run(lines.join("\n"), g.first);
    });
    expect(() => recover(reopened, { fromScratch: true })).toThrow(`event ${group.first + 3} was altered`);
    reopened.close();
  });

  it("detects a hash altered inside a group", async () => {
    const { reopened, group } = await damaged((sqlite, g) => {
      sqlite
        .prepare(
          "UPDATE event_groups SET hashes = substr(hashes, 1, 64 * 5) || 'f' || substr(hashes, 64 * 5 + 2) WHERE first_seq = ?",
        )
        .run(g.first);
    });
    expect(() => recover(reopened, { fromScratch: true })).toThrow(CorruptLogError);
    expect(() => recover(reopened, { fromScratch: true })).toThrow(`event ${group.first + 5} was altered`);
    reopened.close();
  });

  it("detects a group body cut short, naming the group", async () => {
    const { reopened, group } = await damaged((sqlite, g) => {
      sqlite
        .prepare(
          "UPDATE event_groups SET payloads = substr(payloads, 1, instr(payloads, char(10)) - 1) WHERE first_seq = ?",
        )
        .run(g.first);
    });
    expect(() => recover(reopened, { fromScratch: true })).toThrow(
      `event group ${group.first}-${group.last} is damaged: 1 payloads for ${group.last - group.first + 1} events`,
    );
    expect(() => [...reopened.read(0)]).toThrow(CorruptLogError);
    reopened.close();
  });

  it("detects a group whose first prevHash does not continue the chain (a fork)", async () => {
    const { reopened, group } = await damaged((sqlite, g) => {
      sqlite.prepare("UPDATE event_groups SET prev_hash = ? WHERE first_seq = ?").run("ab".repeat(32), g.first);
    });
    expect(() => recover(reopened, { fromScratch: true })).toThrow(
      `forked log at seq ${group.first}: its prevHash is not the hash of seq ${group.first - 1}`,
    );
    reopened.close();
  });
});

describe("migration 0002: per-event rows to groups", () => {
  it("upgrades an old-layout database on open, losing nothing", async () => {
    // The events a node made, written the old way: one row per event, into a database at 0001.
    const { log: source } = await makeLog(null);
    const sealed = [...source.readSealed(0)];
    const snapshot = source.latestSnapshot()!;
    source.close();
    const dir = tempDir();
    const old = join(dir, "migrations");
    mkdirSync(join(old, "meta"), { recursive: true });
    for (const f of ["0000_init.sql", "0001_drop_events_ts.sql"]) copyFileSync(join(MIGRATIONS, f), join(old, f));
    const journal = JSON.parse(readFileSync(join(MIGRATIONS, "meta/_journal.json"), "utf8"));
    journal.entries = journal.entries.slice(0, 2);
    writeFileSync(join(old, "meta/_journal.json"), JSON.stringify(journal));
    const file = join(dir, "outlet.db");
    const sqlite = new Database(file);
    sqlite.pragma("journal_mode = WAL");
    migrate(drizzle(sqlite), { migrationsFolder: old });
    const insert = sqlite.prepare(
      "INSERT INTO events (seq, ts, type, actor, prev_hash, hash, payload, sku) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    sqlite.transaction(() => {
      for (const [e, json] of sealed) {
        const sku = "sku" in e.payload ? e.payload.sku : null;
        insert.run(e.seq, e.ts, e.type, e.actor, e.prevHash, e.hash, json, sku);
      }
    })();
    sqlite
      .prepare("INSERT INTO snapshots (seq, ts, digest, state) VALUES (?, ?, ?, ?)")
      .run(snapshot.seq, snapshot.ts, snapshot.digest, JSON.stringify(snapshot.state));
    sqlite.close();

    const log = new EventLog(openDb(file), "outlet-1");
    // Migration 0002 indexed every event, and 0003 emptied the index to be rebuilt (its worker
    // starts a tick, 50 ms, after this).
    expect(log.indexedUpTo()).toBe(0);
    const tables = log.db.$client.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    expect(tables).not.toContain("events");
    expect([...log.readSealed(0)]).toEqual(sealed);
    expect(log.head()).toEqual({ seq: sealed.length, hash: sealed.at(-1)![0].hash, ts: sealed.at(-1)![0].ts });
    // Every seq run sharing a ts became one group: fewer rows than events.
    const groups = log.db.$client.prepare("SELECT count(*) FROM event_groups").pluck().get() as number;
    expect(groups).toBeLessThan(sealed.length);
    const full = recover(log, { fromScratch: true });
    expect(full.head.seq).toBe(sealed.length);
    expect(recover(log).engine.digest()).toBe(full.engine.digest());
    // Queries scan the log until the index is rebuilt (migration 0003), then use it.
    for (const f of filters(log)) expect(log.find(f)).toEqual(bruteForce(log, f));
    log.catchUpIndex();
    expect(log.indexedUpTo()).toBe(sealed.length);
    for (const f of filters(log)) expect(log.find(f)).toEqual(bruteForce(log, f));
    log.close();
  });

  it("splits a run of more than 4,096 events sharing a ts into several groups", () => {
    const dir = tempDir();
    const old = join(dir, "migrations");
    mkdirSync(join(old, "meta"), { recursive: true });
    for (const f of ["0000_init.sql", "0001_drop_events_ts.sql"]) copyFileSync(join(MIGRATIONS, f), join(old, f));
    const journal = JSON.parse(readFileSync(join(MIGRATIONS, "meta/_journal.json"), "utf8"));
    journal.entries = journal.entries.slice(0, 2);
    writeFileSync(join(old, "meta/_journal.json"), JSON.stringify(journal));
    const file = join(dir, "outlet.db");
    const sqlite = new Database(file);
    migrate(drizzle(sqlite), { migrationsFolder: old });
    const insert = sqlite.prepare(
      "INSERT INTO events (seq, ts, type, actor, prev_hash, hash, payload, sku) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    let prevHash = "0".repeat(64);
    const n = 9_000;
    sqlite.transaction(() => {
      for (let seq = 1; seq <= n; seq++) {
        const ts = seq <= 8_500 ? 1_000 : 2_000;
        const payload = { type: "hold.confirmed" as const, holdId: `h${seq}` };
        const e = {
          v: 1 as const,
          outletId: "outlet-1",
          seq,
          ts,
          type: payload.type,
          actor: "system",
          prevHash,
          payload,
        };
        const hash = hashEnvelope(e);
        insert.run(seq, ts, payload.type, "system", prevHash, hash, JSON.stringify(payload), null);
        prevHash = hash;
      }
    })();
    sqlite.close();
    const log = new EventLog(openDb(file), "outlet-1");
    const rows = log.db.$client
      .prepare("SELECT first_seq AS first, last_seq AS last, ts FROM event_groups ORDER BY first_seq")
      .all();
    expect(rows).toEqual([
      { first: 1, last: 4_096, ts: 1_000 },
      { first: 4_097, last: 8_192, ts: 1_000 },
      { first: 8_193, last: 8_500, ts: 1_000 },
      { first: 8_501, last: 9_000, ts: 2_000 },
    ]);
    expect([...log.readSealed(0)].every(([e, json]) => hashEnvelope(e, json) === e.hash)).toBe(true);
    expect(log.lastSeqAt(1_500)).toBe(8_500);
    expect(verifyChain(log.read(0))).toBeNull();
    expect(log.head()).toEqual({ seq: n, hash: prevHash, ts: 2_000 });
    log.close();
  });
});

describe("event log: consumer cursors", () => {
  it("saves a cursor on the committer thread, the newest of several, kept across a restart", async () => {
    const file = join(tempDir(), "outlet.db");
    const { log, writer } = await makeLog(file);
    for (const seq of [3, 7, 5, 11]) log.saveCursor("replicator", seq);
    // Saved in turn with the commits: one submitted after the saves is durable after them too.
    await writer.submit(Command.parse({ type: "product.add", sku: "LATE", name: "Late", brand: "B" }), "admin");
    const read = (db: Database.Database) =>
      db.prepare("SELECT seq FROM cursors WHERE name = 'replicator'").pluck().get();
    expect(read(log.db.$client)).toBe(11);
    log.close();
    const reopened = new Database(file, { readonly: true });
    expect(read(reopened)).toBe(11);
    reopened.close();
  });
});
