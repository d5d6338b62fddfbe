// The event log's helper thread, with its own connection: WAL checkpoints (PASSIVE: never waiting
// for the writer, nor blocking it) and the audit index (event-indexer.js), both off the event loop.
// Plain JavaScript so it loads the same way under tsx, vitest or plain node.
// `lock` (shared with the committer thread, write-lock.js) keeps index commits out of the writer's way:
// [0] is 0 free, 1 the committer commits, 2 this thread indexes; [1] is 1 while it waits for it;
// [2] is 1 while the writer has commands queued: then the index waits for a quiet moment (queries
// scan what it has not reached), unless it is `maxLag` events behind: then one transaction a tick;
// [3] is 1 once the log closes; this thread sets [4] to 1 when its connection is closed.
import { workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { createIndexer } from "./event-indexer.js";

const { file, everyMs, checkpointMs, busyWalFrames, idleChecks, chunk, sliceMs, maxLag } = workerData;
const lock = new Int32Array(workerData.lock);
const db = new Database(file);
// Index commits need no fsync of their own: the committer's next fsync of the WAL covers them,
// and after a power cut the index and its cursor are lost (and rebuilt) together.
db.pragma("synchronous = NORMAL");
db.pragma("busy_timeout = 5000");
// This thread checkpoints when it chooses to, never inside an index COMMIT: SQLite's automatic
// one (at 1,000 WAL pages by default) ran there, two fsyncs long, while the writer waited for the
// lock (12 ms at the median of such waits, up to 37 under batch load).
db.pragma("wal_autocheckpoint = 0");
const step = createIndexer(db);
const lag = db
  .prepare(
    "SELECT coalesce((SELECT last_seq FROM event_groups ORDER BY first_seq DESC LIMIT 1), 0) - coalesce((SELECT seq FROM cursors WHERE name = 'event_index'), 0)",
  )
  .pluck();
let indexing = true;
let idle = 0;
let last = -1;

/** The writer waits to commit (lock [1]): an index transaction ends at its next check. */
const writerWaits = () => Atomics.load(lock, 1) !== 0;

/** Indexes chunks for up to `sliceMs`, stepping aside whenever the writer wants to commit. */
function index() {
  let indexed = 0;
  if (Atomics.load(lock, 2) !== 0 && lag.get() < maxLag) return 0;
  const until = performance.now() + sliceMs;
  while (indexing && performance.now() < until) {
    if (writerWaits() || Atomics.compareExchange(lock, 0, 0, 2) !== 0) break;
    let n = 0;
    try {
      n = step(chunk, writerWaits);
    } catch {
      // A damaged group: recovery and verify report it; queries scan the log beyond the cursor.
      indexing = false;
    } finally {
      Atomics.store(lock, 0, 0);
      Atomics.notify(lock, 0);
    }
    indexed += n;
    if (n === 0 || Atomics.load(lock, 2) !== 0) break;
  }
  return indexed;
}

/** The connection is closed: the log's own close() waits for this (lock [4]). */
function closed() {
  db.close();
  Atomics.store(lock, 4, 1);
  Atomics.notify(lock, 4);
}

let checkpointedAt = 0;
let checkpointEvery = everyMs;

function tick() {
  // The log is closing (lock [3]): this connection goes first, so the writer's is the last.
  if (Atomics.load(lock, 3) !== 0) return closed();
  // Not on every tick, nor on the quick ticks of catching up on the index: each checkpoint copies
  // the pages written since the last and syncs the WAL and the database.
  let log = last;
  let checkpointed = last;
  if (performance.now() - checkpointedAt >= checkpointEvery) {
    [{ log, checkpointed }] = db.pragma("wal_checkpoint(PASSIVE)");
    checkpointedAt = performance.now();
    checkpointEvery = log > busyWalFrames ? everyMs : checkpointMs;
  }
  const indexed = index();
  idle = indexed === 0 && log === checkpointed && log === last ? idle + 1 : 0;
  last = log;
  if (idle >= idleChecks) return closed();
  // Behind: the next slice soon (the writer had its turn in between).
  setTimeout(tick, indexed > 0 ? 2 : everyMs);
}
setTimeout(tick, everyMs);
