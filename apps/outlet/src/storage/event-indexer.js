// The audit index (event_index: sku, actor and order -> seq), built after commit from the event
// groups, never on the writer's path. Plain JavaScript so the log worker (log-worker.js) loads it
// without the TypeScript loader; the main thread uses the same code (EventLog.catchUpIndex).
// Index rows and the `event_index` cursor move together in one transaction, so every seq at or
// below the cursor is fully indexed and nothing above it is: queries use the index up to the
// cursor and scan the log beyond it.

export const INDEX_CURSOR = "event_index";

/** The keys an event is found under: `s:<sku>`, `a:<actor>`, `o:<orderId>` (an execution's orders). */
export function indexKeys(type, actor, payloadJson, keys) {
  keys.push(`a:${actor}`);
  // Only payloads that name a sku (at the top level, as the audit filter always meant) are parsed.
  if (!payloadJson.includes('"sku":')) return;
  const payload = JSON.parse(payloadJson);
  if (typeof payload.sku === "string") keys.push(`s:${payload.sku}`);
  if (type === "execution") {
    if (payload.inflowOrderId != null) keys.push(`o:${payload.inflowOrderId}`);
    if (payload.outflowOrderId != null && payload.outflowOrderId !== payload.inflowOrderId) {
      keys.push(`o:${payload.outflowOrderId}`);
    }
  }
}

/**
 * Returns `step(maxEvents)`: indexes up to `maxEvents` events after the cursor in one transaction
 * (begun IMMEDIATE) and returns how many it indexed (0: caught up).
 */
export function createIndexer(sqlite) {
  const cursor = sqlite.prepare("SELECT seq FROM cursors WHERE name = ?").pluck();
  const groupAt = sqlite.prepare(
    "SELECT first_seq, last_seq, types, actors, payloads FROM event_groups WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1",
  );
  const insert = sqlite.prepare("INSERT OR IGNORE INTO event_index (key, seq) VALUES (?, ?)");
  const save = sqlite.prepare(
    "INSERT INTO cursors (name, seq, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at",
  );
  const begin = sqlite.prepare("BEGIN IMMEDIATE");
  const commit = sqlite.prepare("COMMIT");
  const rollback = sqlite.prepare("ROLLBACK");
  /** The last group split, kept across steps: a large group is indexed in several. */
  let cached = null;
  const keys = [];
  return function step(maxEvents) {
    begin.run();
    try {
      const done = cursor.get(INDEX_CURSOR) ?? 0;
      const next = done + 1;
      if (!cached || cached.first > next || cached.last < next) {
        const row = groupAt.get(next);
        if (!row || row.last_seq < next) {
          rollback.run();
          return 0;
        }
        cached = {
          first: row.first_seq,
          last: row.last_seq,
          types: row.types.split("\n"),
          actors: row.actors.split("\n"),
          payloads: row.payloads.split("\n"),
        };
      }
      const g = cached;
      const upTo = Math.min(g.last, done + maxEvents);
      for (let seq = next; seq <= upTo; seq++) {
        const i = seq - g.first;
        const type = g.types[i];
        const actor = g.actors[i];
        const payload = g.payloads[i];
        // A damaged group is left to recovery and verify to report; it is not indexed.
        if (type === undefined || actor === undefined || payload === undefined)
          throw new Error(`event ${seq} unreadable`);
        keys.length = 0;
        indexKeys(type, actor, payload, keys);
        for (const key of keys) insert.run(key, seq);
      }
      save.run(INDEX_CURSOR, upTo, Date.now());
      commit.run();
      return upTo - done;
    } catch (error) {
      if (sqlite.inTransaction) rollback.run();
      cached = null;
      throw error;
    }
  };
}
