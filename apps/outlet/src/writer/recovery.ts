import { type EventEnvelope, GENESIS_HASH, hashEnvelope } from "@stockroom/contracts";
import { digestOf, Engine } from "@stockroom/engine";
import { CorruptLogError, type EventLog } from "../storage/event-log.ts";

export { CorruptLogError };

export interface Recovered {
  engine: Engine;
  head: { seq: number; hash: string; ts: number };
  fromSnapshot: number;
  replayed: number;
}

/**
 * Rebuilds the engine from the newest snapshot at or before `upTo` plus the log's tail,
 * checking the snapshot's digest and every tail event's hash chain on the way.
 * `fromScratch` ignores snapshots and replays the whole log (the `verify` command).
 */
export function recover(log: EventLog, options: { upTo?: number; fromScratch?: boolean } = {}): Recovered {
  const upTo = options.upTo ?? Number.MAX_SAFE_INTEGER;
  const snapshot = options.fromScratch ? null : log.latestSnapshot(upTo);
  let engine = new Engine();
  let prev = { seq: 0, hash: GENESIS_HASH, ts: 0 };
  if (snapshot) {
    if (digestOf(snapshot.state) !== snapshot.digest) {
      throw new CorruptLogError(`snapshot at seq ${snapshot.seq} does not match its digest`);
    }
    engine = Engine.restore(snapshot.state);
    const [at] = log.read(snapshot.seq - 1, snapshot.seq);
    if (!at) throw new CorruptLogError(`snapshot at seq ${snapshot.seq} has no event ${snapshot.seq} in the log`);
    prev = { seq: at.seq, hash: at.hash, ts: at.ts };
  }
  const fromSnapshot = prev.seq;
  let replayed = 0;
  for (const [e, payloadJson] of log.readSealed(prev.seq, upTo)) {
    checkLink(prev, e, payloadJson);
    engine.apply(e.payload, e.ts);
    prev = { seq: e.seq, hash: e.hash, ts: e.ts };
    replayed++;
  }
  return { engine, head: prev, fromSnapshot, replayed };
}

function checkLink(prev: { seq: number; hash: string }, e: EventEnvelope, payloadJson: string): void {
  if (e.seq !== prev.seq + 1) throw new CorruptLogError(`gap in the log: seq ${prev.seq} is followed by ${e.seq}`);
  if (e.prevHash !== prev.hash) {
    throw new CorruptLogError(`forked log at seq ${e.seq}: its prevHash is not the hash of seq ${prev.seq}`);
  }
  // Over the payload's stored bytes: any change to them shows, even one JSON would read the same.
  if (hashEnvelope(e, payloadJson) !== e.hash)
    throw new CorruptLogError(`event ${e.seq} was altered: its hash does not match`);
}
