// Stores committed groups (see event_groups in schema.ts): hashes each event into the chain and
// writes its rows, with the answers and the snapshot committed alongside, in one transaction.
// Plain JavaScript so the committer thread (committer.js) loads it the same way under tsx,
// vitest or plain node; an in-memory log runs it on the main thread.
import { hashEvent, SCHEMA_VERSION } from "@stockroom/contracts/chain-hash";

/**
 * A row is closed once its payloads reach this many characters. Rows stay well below V8's large
 * object size (128 KiB), so no string built for one, nor SQLite's record buffer, needs its own
 * fresh memory mapping: a row per whole group cost a page fault per few KiB written.
 */
const ROW_PAYLOAD_CHARS = 32 * 1024;

/**
 * Returns `store(groups)`: commits the groups (seqs continuing from `head`, the chain from its
 * hash) in one IMMEDIATE transaction and returns each group's event hashes, concatenated. Once a
 * transaction has failed it refuses every later group: those continue seqs that were never
 * stored, and storing them would leave a gap in the log.
 */
export function createGroupStore(sqlite, outletId, head) {
  const insertRow = sqlite.prepare(
    "INSERT INTO event_groups (first_seq, last_seq, ts, prev_hash, types, actors, hashes, payloads) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  const insertAnswer = sqlite.prepare(
    "INSERT INTO idempotency_keys (account_id, key, request_hash, status, response, created_at) VALUES (?, ?, ?, ?, ?, ?)",
  );
  const insertSnapshot = sqlite.prepare(
    "INSERT INTO snapshots (seq, ts, digest, state) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
  );
  /** The last committed event, and the last one written in the transaction under way. */
  let last = head;
  let next = head;
  let failure = null;
  const write = sqlite.transaction((groups) => {
    next = last;
    return groups.map((group) => {
      if (group.firstSeq !== next.seq + 1) {
        throw new Error(`group from seq ${group.firstSeq} does not follow seq ${next.seq}`);
      }
      const hashes = storeEvents(group);
      for (const a of group.answers)
        insertAnswer.run(a.accountId, a.key, a.requestHash, a.status, a.response, a.createdAt);
      const s = group.snapshot;
      if (s) insertSnapshot.run(s.seq, s.ts, s.digest, s.state);
      return hashes;
    });
  });

  /** Hashes and inserts one group's events, a row per ROW_PAYLOAD_CHARS of payloads. */
  function storeEvents({ firstSeq, ts, types, actors, payloads }) {
    const before = next.hash;
    let prev = before;
    const all = [];
    let start = 0;
    let chars = 0;
    for (let i = 0; i < payloads.length; i++) {
      prev = hashEvent(SCHEMA_VERSION, outletId, firstSeq + i, ts, types[i], actors[i], prev, payloads[i]);
      all.push(prev);
      chars += payloads[i].length;
      if (chars >= ROW_PAYLOAD_CHARS || i === payloads.length - 1) {
        insertRow.run(
          firstSeq + start,
          firstSeq + i,
          ts,
          start === 0 ? before : all[start - 1],
          types.slice(start, i + 1).join("\n"),
          actors.slice(start, i + 1).join("\n"),
          all.slice(start).join(""),
          payloads.slice(start, i + 1).join("\n"),
        );
        start = i + 1;
        chars = 0;
      }
    }
    next = { seq: firstSeq + payloads.length - 1, hash: prev };
    return all.join("");
  }

  return (groups) => {
    if (failure) throw new Error(`an earlier commit failed: ${failure.message}`);
    try {
      const hashes = write.immediate(groups);
      last = next;
      return hashes;
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      throw error;
    }
  };
}
