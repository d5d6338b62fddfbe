// The log's committer thread, with its own connection: it hashes each group's events into the
// chain, writes them and commits, so the event loop only executes commands. Commits run at
// synchronous NORMAL and, when the log is FULL, an fdatasync of the WAL on this thread's pool
// makes every frame committed before it durable: the same guarantee as FULL, while the next
// groups are hashed and written. Groups that arrive meanwhile share a transaction, and those
// committed during one fdatasync share the next. Replies come in the order the groups came, once
// durable: { hashes } per message taken, or { error, count } when they failed. A { cursor }
// message (a log consumer's progress) is saved with no reply; "close" closes the connection.
import { fdatasync, openSync } from "node:fs";
import { parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import Database from "better-sqlite3";
import { prepareCursorSave } from "./event-indexer.js";
import { createGroupStore } from "./group-store.js";
import { acquireWriteLock, releaseWriteLock } from "./write-lock.js";

const { file, outletId, head, durable, backstopPages } = workerData;
const lock = new Int32Array(workerData.lock);
const closed = new Int32Array(workerData.closed);
const db = new Database(file);
db.pragma("synchronous = NORMAL");
db.pragma("busy_timeout = 5000");
db.pragma(`wal_autocheckpoint = ${backstopPages}`);
const store = createGroupStore(db, outletId, head);
const saveCursor = prepareCursorSave(db);
/** Opened once: SQLite keeps the same WAL file (reset in place) while a connection is open. */
let wal = null;
/** Replies committed since the running fdatasync began: the next one covers them. */
let unsynced = [];
let syncing = false;
/** After a failed fdatasync nothing more is acknowledged. */
let failure = null;
let closing = false;

parentPort.on("message", (first) => {
  const groups = [];
  const cursors = new Map();
  for (let message = first; message !== undefined; message = receiveMessageOnPort(parentPort)?.message) {
    if (message === "close") closing = true;
    else if ("cursor" in message) cursors.set(message.cursor.name, message.cursor);
    else groups.push(message);
  }
  // Cursors first: a group's reply then follows every cursor sent before it.
  if (cursors.size > 0) save(cursors);
  if (groups.length > 0) reply(commit(groups));
  if (closing && !syncing) close();
});

/** Saves the newest of each cursor: the next fdatasync makes it durable (losing one only repeats work). */
function save(cursors) {
  acquireWriteLock(lock);
  try {
    db.transaction(() => {
      for (const { name, seq, updatedAt } of cursors.values()) saveCursor.run(name, seq, updatedAt);
    }).immediate();
  } catch {
    // Left where it was: its consumer resumes from there.
  } finally {
    releaseWriteLock(lock);
  }
}

function commit(groups) {
  if (failure) return { error: failure, count: groups.length };
  acquireWriteLock(lock);
  try {
    return { hashes: store(groups) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error), count: groups.length };
  } finally {
    releaseWriteLock(lock);
  }
}

function reply(answer) {
  if (!durable || "error" in answer) {
    // In order: after whatever waits for the fdatasync under way.
    if (syncing) unsynced.push(answer);
    else parentPort.postMessage(answer);
    return;
  }
  unsynced.push(answer);
  if (!syncing) sync();
}

function sync() {
  syncing = true;
  const answers = unsynced;
  unsynced = [];
  wal ??= openSync(`${file}-wal`, "r+");
  fdatasync(wal, (error) => {
    if (error) failure ??= `fdatasync of the WAL failed: ${error.message}`;
    for (const answer of answers) {
      parentPort.postMessage(failure && "hashes" in answer ? { error: failure, count: answer.hashes.length } : answer);
    }
    syncing = false;
    if (unsynced.length > 0) sync();
    else if (closing) close();
  });
}

function close() {
  db.close();
  Atomics.store(closed, 0, 1);
  Atomics.notify(closed, 0);
  parentPort.close();
}
