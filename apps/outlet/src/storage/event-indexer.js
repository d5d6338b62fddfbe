// The audit index (event_index: sku, actor and order -> seq), built after commit from the event
// groups, never on the writer's path. Plain JavaScript so the log worker (log-worker.js) loads it
// without the TypeScript loader; the main thread uses the same code (EventLog.catchUpIndex).
// Index rows and the `event_index` cursor move together in one transaction, so every seq at or
// below the cursor is fully indexed and nothing above it is: queries use the index up to the
// cursor and scan the log beyond it.

export const INDEX_CURSOR = "event_index";
const INSERT_ROWS = 32;

/**
 * The skus an event concerns, as the audit's sku filter finds it: its own, its cart's (a hold),
 * or those of the command it refused (the trail shows who tried what).
 */
export function skusOf(type, payload) {
  const named = type === "command.rejected" ? payload.command : payload;
  if (typeof named.sku === "string") return [named.sku];
  return Array.isArray(named.lines) ? [...new Set(named.lines.map((line) => line.sku))] : [];
}

/** The keys an event is found under: `s:<sku>`, `a:<actor>`, `o:<orderId>` (an execution's orders). */
export function indexKeys(type, actor, payloadJson, keys) {
  keys.push(`a:${actor}`);
  // Only payloads that name a sku are parsed.
  if (!payloadJson.includes('"sku":')) return;
  const payload = JSON.parse(payloadJson);
  for (const sku of skusOf(type, payload)) keys.push(`s:${sku}`);
  if (type === "execution") {
    if (payload.inflowOrderId != null) keys.push(`o:${payload.inflowOrderId}`);
    if (payload.outflowOrderId != null && payload.outflowOrderId !== payload.inflowOrderId) {
      keys.push(`o:${payload.outflowOrderId}`);
    }
  }
}

/** The statement that saves a cursor (name, seq, updated_at): the index's own, and the log's consumers'. */
export function prepareCursorSave(sqlite) {
  return sqlite.prepare(
    "INSERT INTO cursors (name, seq, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at",
  );
}

/**
 * Returns `step(maxEvents, stop?)`: indexes up to `maxEvents` events after the cursor in one
 * transaction (begun IMMEDIATE), across as many groups as they span, ending early once `stop()`
 * (asked every 64 events) is true, and returns how many it indexed (0: caught up). Few, long
 * transactions: each commit rewrites every index page it touched, so one per group (tens of
 * events under light load) cost several times more.
 */
export function createIndexer(sqlite) {
  const cursor = sqlite.prepare("SELECT seq FROM cursors WHERE name = ?").pluck();
  const groupAt = sqlite.prepare(
    "SELECT first_seq, last_seq, types, actors, payloads FROM event_groups WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1",
  );
  const insert = sqlite.prepare("INSERT OR IGNORE INTO event_index (key, seq) VALUES (?, ?)");
  // Rows go in INSERT_ROWS at a time: a statement per row made indexing ~40% slower.
  const insertMany = sqlite.prepare(
    `INSERT OR IGNORE INTO event_index (key, seq) VALUES ${Array(INSERT_ROWS).fill("(?, ?)").join(", ")}`,
  );
  /** key, seq, key, seq…: the first `queued` values are rows waiting for a full insertMany. */
  const rows = new Array(2 * INSERT_ROWS);
  let queued = 0;
  const flush = () => {
    for (let i = 0; i < queued; i += 2) insert.run(rows[i], rows[i + 1]);
    queued = 0;
  };
  const save = prepareCursorSave(sqlite);
  const begin = sqlite.prepare("BEGIN IMMEDIATE");
  const commit = sqlite.prepare("COMMIT");
  const rollback = sqlite.prepare("ROLLBACK");
  /** The last group split, kept across steps: a large group is indexed in several. */
  let cached = null;
  const keys = [];
  /** The group holding `seq`, split into its columns (null: not committed yet). */
  const groupOf = (seq) => {
    if (cached && cached.first <= seq && seq <= cached.last) return cached;
    const row = groupAt.get(seq);
    if (!row || row.last_seq < seq) return null;
    cached = {
      first: row.first_seq,
      last: row.last_seq,
      types: row.types.split("\n"),
      actors: row.actors.split("\n"),
      payloads: row.payloads.split("\n"),
    };
    return cached;
  };
  return function step(maxEvents, stop) {
    begin.run();
    try {
      const done = cursor.get(INDEX_CURSOR) ?? 0;
      let limit = done + maxEvents;
      let seq = done + 1;
      let damaged = false;
      for (let g = groupOf(seq); g && seq <= limit && !damaged; g = groupOf(seq)) {
        let upTo = Math.min(g.last, limit);
        for (; seq <= upTo; seq++) {
          const i = seq - g.first;
          const type = g.types[i];
          const actor = g.actors[i];
          const payload = g.payloads[i];
          // A damaged group is left to recovery and verify to report; it is not indexed (what
          // came before it is).
          if (type === undefined || actor === undefined || payload === undefined) {
            damaged = true;
            break;
          }
          keys.length = 0;
          indexKeys(type, actor, payload, keys);
          for (const key of keys) {
            rows[queued++] = key;
            rows[queued++] = seq;
            if (queued === rows.length) {
              insertMany.run(rows);
              queued = 0;
            }
          }
          if ((seq & 63) === 0 && stop?.()) limit = upTo = seq;
        }
      }
      flush();
      if (seq > done + 1) {
        save.run(INDEX_CURSOR, seq - 1, Date.now());
        commit.run();
      } else rollback.run();
      if (damaged) throw new Error(`event ${seq} unreadable`);
      return seq - 1 - done;
    } catch (error) {
      if (sqlite.inTransaction) rollback.run();
      cached = null;
      queued = 0;
      throw error;
    }
  };
}
