import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, type CommandInput } from "@stockroom/contracts";
import { afterEach, describe, expect, it } from "vitest";
import { openDb } from "../src/storage/db.ts";
import { EventLog } from "../src/storage/event-log.ts";
import { events } from "../src/storage/schema.ts";
import { CorruptLogError, recover } from "../src/writer/recovery.ts";
import { Writer } from "../src/writer/writer.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function openOutlet(file: string, snapshotEveryEvents = 1_000) {
  const log = new EventLog(openDb(file), "outlet-1");
  const { engine, head } = recover(log);
  let clock = 1_700_000_000_000;
  const writer = new Writer(log, engine, head, { snapshotEveryEvents, now: () => (clock += 7) });
  const submit = (c: CommandInput, actor = "admin") => writer.submit(Command.parse(c), actor);
  return { log, writer, submit, close: () => log.close() };
}

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), "stockroom-writer-"));
  dirs.push(dir);
  return join(dir, "outlet.db");
}

async function seed(submit: (c: CommandInput) => Promise<unknown>) {
  await submit({ type: "product.add", sku: "A", name: "Apple", brand: "Fruit" });
  for (const id of ["s", "b"]) {
    await submit({ type: "account.create", accountId: id, role: "kiosk" });
    await submit({ type: "account.kyc", accountId: id, kyc: "verified" });
    await submit({ type: "wallet.deposit", accountId: id, amount: 10_000_000 });
  }
}

describe("writer", () => {
  it("commits commands that arrive together as one group, in order, with gapless seqs", async () => {
    const outlet = openOutlet(tempDb());
    await seed(outlet.submit);
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        outlet.submit({
          type: "order.place",
          accountId: "s",
          sku: "A",
          side: "inflow",
          price: 100 + (i % 5),
          quantity: 1,
        }),
      ),
    );
    const seqs = answers.flat().map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => seqs[0]! + i));
    const rows = outlet.log.db.select().from(events).all();
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    expect(outlet.writer.engine.stock("A")?.onHand).toBe(200);
    outlet.close();
  });

  it("acknowledges a group only once its fsync is done, and reads wait for it", async () => {
    const outlet = openOutlet(tempDb());
    await seed(outlet.submit);
    const before = outlet.writer.lastSeq;
    const placed = outlet.submit({
      type: "order.place",
      accountId: "s",
      sku: "A",
      side: "inflow",
      price: 100,
      quantity: 1,
    });
    // Runs right after the writer's flush: the group is committed, its fsync still running.
    await new Promise((resolve) => setImmediate(resolve));
    expect(outlet.writer.lastSeq).toBe(before);
    const seen = outlet.writer.settled().then(() => outlet.writer.lastSeq);
    const envelopes = await placed;
    expect(await seen).toBe(envelopes.at(-1)!.seq);
    outlet.close();
  });

  it("recovers the same state from snapshot + tail as from a full replay", async () => {
    const file = tempDb();
    const first = openOutlet(file, 50);
    await seed(first.submit);
    for (let i = 0; i < 300; i++) {
      const side = i % 3 === 0 ? "outflow" : "inflow";
      await first.submit({
        type: "order.place",
        accountId: side === "inflow" ? "s" : "b",
        sku: "A",
        side,
        price: 100,
        quantity: 1 + (i % 4),
      });
    }
    const digest = first.writer.engine.digest();
    first.close();

    const log = new EventLog(openDb(file), "outlet-1");
    const viaSnapshot = recover(log);
    const fromScratch = recover(log, { fromScratch: true });
    expect(viaSnapshot.fromSnapshot).toBeGreaterThan(0);
    expect(viaSnapshot.engine.digest()).toBe(digest);
    expect(fromScratch.engine.digest()).toBe(digest);
    expect(fromScratch.head).toEqual(viaSnapshot.head);
    log.close();
  });

  it("refuses to start from a log whose event was altered", async () => {
    const file = tempDb();
    const outlet = openOutlet(file, 1_000_000);
    await seed(outlet.submit);
    outlet.log.db.$client
      .prepare("UPDATE events SET payload = replace(payload, '10000000', '99999999') WHERE seq = 4")
      .run();
    outlet.close();
    const log = new EventLog(openDb(file), "outlet-1");
    expect(() => recover(log)).toThrow(CorruptLogError);
    expect(() => recover(log)).toThrow(/event 4 was altered/);
    log.close();
  });

  it("refuses to start from a log with a gap", async () => {
    const file = tempDb();
    const outlet = openOutlet(file, 1_000_000);
    await seed(outlet.submit);
    outlet.log.db.$client.prepare("DELETE FROM events WHERE seq = 3").run();
    outlet.close();
    const log = new EventLog(openDb(file), "outlet-1");
    expect(() => recover(log)).toThrow(/gap in the log: seq 2 is followed by 4/);
    log.close();
  });
});
