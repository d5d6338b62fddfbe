import { z } from "zod";
import { hashEvent, SCHEMA_VERSION } from "./chain-hash.js";
import { EngineEvent } from "./events.ts";
import { OutletId, Timestamp } from "./primitives.ts";

export { SCHEMA_VERSION };
/** prevHash of an outlet's first event. */
export const GENESIS_HASH = "0".repeat(64);

const Hash = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * One sequenced event as it is stored (SQLite), replicated (NATS) and served (HTTP).
 * `seq` is gapless from 1 per outlet; `hash` covers every other field and `prevHash`, so the
 * log is a hash chain: editing, dropping or reordering an event breaks it.
 */
export const EventEnvelope = z
  .object({
    v: z.literal(SCHEMA_VERSION),
    outletId: OutletId,
    seq: z.int().min(1),
    ts: Timestamp,
    type: z.string(),
    /** The account that issued the command, or "system" for ticks and configuration. */
    actor: z.string().min(1),
    prevHash: Hash,
    hash: Hash,
    payload: EngineEvent,
  })
  .refine((e) => e.type === e.payload.type, "type must equal payload.type");
export type EventEnvelope = z.infer<typeof EventEnvelope>;
export type UnsealedEnvelope = Omit<EventEnvelope, "hash">;

/**
 * sha256 over the JSON of the envelope's fields (everything but `hash`) in a fixed order. The
 * payload is hashed as it was first serialised: JSON round trips (SQLite, NATS, HTTP) keep key
 * order, so hash the parsed object itself, never one rebuilt from its fields.
 */
export function hashEnvelope(e: UnsealedEnvelope, payloadJson = JSON.stringify(e.payload)): string {
  return hashEvent(e.v, e.outletId, e.seq, e.ts, e.type, e.actor, e.prevHash, payloadJson);
}

export function sealEnvelope(e: UnsealedEnvelope): EventEnvelope {
  return { ...e, hash: hashEnvelope(e) };
}

/** Where a chain of envelopes first breaks (a wrong hash, prevHash or seq), or null if it holds. */
export function verifyChain(
  envelopes: Iterable<EventEnvelope>,
  from: { seq: number; hash: string } = { seq: 0, hash: GENESIS_HASH },
): { seq: number; problem: string } | null {
  let prev = from;
  for (const e of envelopes) {
    if (e.seq !== prev.seq + 1) return { seq: e.seq, problem: `expected seq ${prev.seq + 1}` };
    if (e.prevHash !== prev.hash) return { seq: e.seq, problem: "prevHash does not match the previous event" };
    if (hashEnvelope(e) !== e.hash) return { seq: e.seq, problem: "hash does not match the content" };
    prev = e;
  }
  return null;
}
