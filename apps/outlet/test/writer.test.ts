import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command, type CommandInput, type EventEnvelope } from "@stockroom/contracts";
import { afterEach, describe, expect, it } from "vitest";
import { openDb } from "../src/storage/db.ts";
import { EventLog } from "../src/storage/event-log.ts";
import { CorruptLogError, recover } from "../src/writer/recovery.ts";
import { Writer } from "../src/writer/writer.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function openOutlet(file: string, snapshotEveryEvents = 1_000, maxUndurable?: number) {
  const log = new EventLog(openDb(file), "outlet-1");
  const { engine, head } = recover(log);
  let clock = 1_700_000_000_000;
  const writer = new Writer(log, engine, head, { snapshotEveryEvents, maxUndurable, now: () => (clock += 7) });
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
    const rows = [...outlet.log.read(0)];
    expect(rows.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    expect(outlet.writer.engine.stock("A")?.onHand).toBe(200);
    outlet.close();
  });

  it("commits a queue longer than maxBatch in groups of at most maxBatch, in submission order", async () => {
    const log = new EventLog(openDb(tempDb()), "outlet-1");
    const { engine, head } = recover(log);
    const writer = new Writer(log, engine, head, { maxBatch: 64 });
    const submit = (c: CommandInput) => writer.submit(Command.parse(c), "admin");
    await seed(submit);
    const groups: number[] = [];
    writer.onCommit = (_envelopes, commands) => groups.push(commands);
    const answers = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) =>
        submit({ type: "order.place", accountId: "s", sku: "A", side: "inflow", price: 100 + (i % 5), quantity: 1 }),
      ),
    );
    expect(groups.reduce((a, b) => a + b, 0)).toBe(1_000);
    expect(Math.max(...groups)).toBe(64);
    // Each command's events follow the previous command's: the order they were submitted in.
    const seqs = answers.map((events) => events[0]!.seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe(seqs[i - 1]! + answers[i - 1]!.length);
    expect(writer.engine.stock("A")?.onHand).toBe(1_000);
    log.close();
  });

  it("submits many commands at once: in order across groups, hooks per command, storeAnswer on the last", async () => {
    const log = new EventLog(openDb(tempDb()), "outlet-1");
    const { engine, head } = recover(log);
    const writer = new Writer(log, engine, head, { maxBatch: 64 });
    await seed((c) => writer.submit(Command.parse(c), "admin"));
    const groups: number[] = [];
    writer.onCommit = (_envelopes, commands) => groups.push(commands);
    const orders = Array.from({ length: 200 }, (_, i) =>
      Command.parse({ type: "order.place", accountId: "s", sku: "A", side: "inflow", price: 100 + i, quantity: 1 }),
    );
    const executed: number[] = [];
    const committedWith: number[] = [];
    // A single command submitted after the batch is sequenced after all of it.
    const [results, single] = await Promise.all([
      writer.submitAll(orders, "s", {
        afterExecute: (envelopes, index) => {
          expect(envelopes[0]!.payload).toMatchObject({ type: "order.accepted", price: 100 + index });
          executed.push(index);
        },
        storeAnswer: (envelopes) => {
          committedWith.push(envelopes[0]!.seq);
          return { accountId: "s", key: "batch-1", requestHash: "h", status: 200, response: "[]", createdAt: 1 };
        },
      }),
      writer.submit(orders[0]!, "s"),
    ]);
    expect(groups.length).toBeGreaterThan(3);
    expect(executed).toEqual(orders.map((_, i) => i));
    expect(results.map((events) => events[0]!.payload)).toEqual(
      orders.map((o) =>
        expect.objectContaining({ type: "order.accepted", price: o.type === "order.place" && o.price }),
      ),
    );
    for (let i = 1; i < results.length; i++) expect(results[i]![0]!.seq).toBe(results[i - 1]!.at(-1)!.seq + 1);
    expect(committedWith).toEqual([results[199]![0]!.seq]);
    expect(log.db.$client.prepare("SELECT key, response FROM idempotency_keys").all()).toEqual([
      { key: "batch-1", response: "[]" },
    ]);
    expect(single[0]!.seq).toBe(results[199]!.at(-1)!.seq + 1);
    expect(await writer.submitAll([], "s")).toEqual([]);
    expect(writer.engine.stock("A")?.onHand).toBe(201);
    log.close();
  });

  it("skips a command whose skipIf holds, inside the group's read transaction: no events, no hooks", async () => {
    const outlet = openOutlet(tempDb());
    await seed(outlet.submit);
    const seq = outlet.writer.lastSeq;
    const order = Command.parse({
      type: "order.place",
      accountId: "s",
      sku: "A",
      side: "inflow",
      price: 1,
      quantity: 1,
    });
    const hooks: string[] = [];
    const [ran, skipped] = await Promise.all(
      [false, true].map((skip) =>
        outlet.writer.submit(
          order,
          "s",
          () => {
            hooks.push(`storeAnswer ${skip}`);
            return { accountId: "s", key: `k-${skip}`, requestHash: "h", status: 201, response: "{}", createdAt: 1 };
          },
          () => hooks.push(`afterExecute ${skip}`),
          () => {
            // The group's lookups share one read transaction.
            expect(outlet.log.db.$client.inTransaction).toBe(true);
            return skip;
          },
        ),
      ),
    );
    expect(ran!.map((e) => e.type)).toEqual(["order.accepted", "order.rested"]);
    expect(skipped).toEqual([]);
    expect(hooks).toEqual(["afterExecute false", "storeAnswer false"]);
    expect(outlet.writer.lastSeq).toBe(seq + 2);
    expect(outlet.writer.engine.stock("A")?.onHand).toBe(1);
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

  it("executes the next group while one commits, but answers and shows each only once durable", async () => {
    const outlet = openOutlet(tempDb(), 1_000, 2);
    await seed(outlet.submit);
    // The disk, by hand: a group's commit completes when the test says so (and it is done).
    const commits: Promise<string>[] = [];
    const gates: (() => void)[] = [];
    const commit = outlet.log.commit.bind(outlet.log);
    outlet.log.commit = (group) => {
      const committed = commit(group);
      commits.push(committed);
      return new Promise<void>((resolve) => gates.push(resolve)).then(() => committed);
    };
    const complete = async (i: number) => {
      await commits[i];
      gates[i]!();
    };
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    const onHand = () => outlet.writer.engine.stock("A")?.onHand ?? 0;
    const receive = () =>
      outlet.submit({ type: "order.place", accountId: "s", sku: "A", side: "inflow", price: 100, quantity: 1 });
    const answered: string[] = [];
    const noted = (name: string) => (events: EventEnvelope[]) => {
      answered.push(name);
      return events;
    };
    const first = receive().then(noted("first"));
    await turn();
    const second = receive().then(noted("second"));
    await turn();
    // Two groups ahead of the disk: the second executed while the first commits.
    expect(gates).toHaveLength(2);
    expect(onHand()).toBe(2);
    const third = receive().then(noted("third"));
    await turn();
    expect(onHand()).toBe(2); // no third group ahead of the disk (maxUndurable 2)
    const read = outlet.writer.settled().then(() => ({ seq: outlet.writer.lastSeq, onHand: onHand() }));
    await complete(0);
    await turn();
    expect(answered).toEqual(["first"]);
    expect(onHand()).toBe(2); // nothing executes while a read waits for the disk
    await complete(1);
    // The read sees exactly the durable state: the second group, not the third.
    expect(await read).toEqual({ seq: (await second).at(-1)!.seq, onHand: 2 });
    await turn();
    expect(onHand()).toBe(3);
    expect(answered).toEqual(["first", "second"]);
    await complete(2);
    expect((await third).at(-1)!.seq).toBeGreaterThan((await first).at(-1)!.seq);
    expect(outlet.writer.lastSeq).toBe((await third).at(-1)!.seq);
    outlet.close();
  });

  it("drains before closing: every command taken is committed and answered", async () => {
    const file = tempDb();
    const outlet = openOutlet(file);
    await seed(outlet.submit);
    const answered: number[] = [];
    for (let i = 0; i < 500; i++)
      void outlet
        .submit({ type: "order.place", accountId: "s", sku: "A", side: "inflow", price: 100, quantity: 1 })
        .then(() => answered.push(i));
    await outlet.writer.drained();
    expect(answered).toHaveLength(500);
    const seq = outlet.writer.lastSeq;
    outlet.close();
    const reopened = openOutlet(file);
    expect(reopened.writer.lastSeq).toBe(seq);
    expect(reopened.writer.engine.stock("A")?.onHand).toBe(500);
    reopened.close();
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
      .prepare("UPDATE event_groups SET payloads = replace(payloads, '10000000', '99999999') WHERE first_seq = 4")
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
    outlet.log.db.$client.prepare("DELETE FROM event_groups WHERE first_seq = 3").run();
    outlet.close();
    const log = new EventLog(openDb(file), "outlet-1");
    expect(() => recover(log)).toThrow(/gap in the log: seq 2 is followed by 4/);
    log.close();
  });
});
