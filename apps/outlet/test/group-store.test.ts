import { GENESIS_HASH, hashEnvelope, SCHEMA_VERSION, verifyChain } from "@stockroom/contracts";
import { describe, expect, it } from "vitest";
import { openDb } from "../src/storage/db.ts";
import { EventLog } from "../src/storage/event-log.ts";
import { createGroupStore, type GroupRecord } from "../src/storage/group-store.js";

/** A group of `n` product.delisted events (any payload does) from `firstSeq`, one actor. */
function group(firstSeq: number, n: number, ts = 1_700_000_000_000): GroupRecord {
  const payloads = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ type: "product.delisted", sku: `S-${firstSeq + i}` }),
  );
  return {
    firstSeq,
    ts,
    types: payloads.map(() => "product.delisted"),
    actors: payloads.map(() => "admin"),
    payloads,
    answers: [],
    snapshot: null,
  };
}

describe("group store (what the committer thread runs)", () => {
  it("hashes each event into the chain as hashEnvelope does, and stores rows that read back sealed", () => {
    const db = openDb(":memory:");
    const store = createGroupStore(db.$client, "outlet-1", { seq: 0, hash: GENESIS_HASH });
    const groups = [group(1, 3), group(4, 2_000)];
    const hashes = store(groups);
    expect(hashes.map((h) => h.length)).toEqual([3 * 64, 2_000 * 64]);
    const log = new EventLog(db, "outlet-1");
    const envelopes = [...log.read(0)];
    expect(envelopes.map((e) => e.seq)).toEqual(Array.from({ length: 2_003 }, (_, i) => i + 1));
    expect(envelopes.map((e) => e.hash).join("")).toBe(hashes.join(""));
    expect(verifyChain(envelopes)).toBeNull();
    // The payload as sent, byte for byte, is what each hash covers.
    const last = envelopes.at(-1)!;
    expect(hashEnvelope({ ...last, v: SCHEMA_VERSION }, groups[1]!.payloads.at(-1))).toBe(last.hash);
    // 2,000 payloads of ~50 characters: more than one row of at most ~32 KiB.
    const rows = db.$client.prepare("SELECT count(*) FROM event_groups").pluck().get() as number;
    expect(rows).toBeGreaterThan(3);
    log.close();
  });

  it("commits a group's answers and snapshot with its events", () => {
    const db = openDb(":memory:");
    const store = createGroupStore(db.$client, "outlet-1", { seq: 0, hash: GENESIS_HASH });
    store([
      {
        ...group(1, 1),
        answers: [{ accountId: "k", key: "key-1", requestHash: "h", status: 201, response: "{}", createdAt: 5 }],
        snapshot: { seq: 1, ts: 1, digest: "d", state: "{}" },
      },
    ]);
    expect(db.$client.prepare("SELECT account_id, key, status, response FROM idempotency_keys").all()).toEqual([
      { account_id: "k", key: "key-1", status: 201, response: "{}" },
    ]);
    expect(db.$client.prepare("SELECT seq, digest FROM snapshots").all()).toEqual([{ seq: 1, digest: "d" }]);
  });

  it("refuses a group that does not continue the seqs, and every group after a failed commit", () => {
    const db = openDb(":memory:");
    const store = createGroupStore(db.$client, "outlet-1", { seq: 0, hash: GENESIS_HASH });
    store([group(1, 2)]);
    expect(() => store([group(5, 1)])).toThrow("group from seq 5 does not follow seq 2");
    // The next group in line is refused too: a failed commit may have been the first of several
    // already executed, and storing a later one would leave a gap.
    expect(() => store([group(3, 1)])).toThrow("an earlier commit failed");
    expect(db.$client.prepare("SELECT max(last_seq) FROM event_groups").pluck().get()).toBe(2);
  });

  it("stores nothing of a transaction that fails part way", () => {
    const db = openDb(":memory:");
    const store = createGroupStore(db.$client, "outlet-1", { seq: 0, hash: GENESIS_HASH });
    const answer = { accountId: "k", key: "dup", requestHash: "h", status: 201, response: "{}", createdAt: 5 };
    // The second group repeats the first one's Idempotency-Key: its insert fails, and both roll back.
    expect(() =>
      store([
        { ...group(1, 1), answers: [answer] },
        { ...group(2, 1), answers: [answer] },
      ]),
    ).toThrow();
    expect(db.$client.prepare("SELECT count(*) FROM event_groups").pluck().get()).toBe(0);
    expect(db.$client.prepare("SELECT count(*) FROM idempotency_keys").pluck().get()).toBe(0);
  });
});
