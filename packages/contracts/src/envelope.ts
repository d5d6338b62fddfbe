import { hash } from "node:crypto";
import { z } from "zod";
import { EngineEvent } from "./events.ts";
import { OutletId, Timestamp } from "./primitives.ts";

export const SCHEMA_VERSION = 1;
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
  // The bytes of JSON.stringify([v, outletId, seq, ts, type, actor, prevHash, payload]), written
  // into one reused buffer: the writer and HQ hash every event, and building this text as a
  // string cost a kilobyte of garbage per event (and more time than these writes).
  const outlet = quotedBytes(e.outletId);
  const type = quotedBytes(e.type);
  const actor = quotedBytes(e.actor);
  // In a chain, prevHash is the hash this returned last: hex, so written as it is.
  const prevHash = e.prevHash === lastHash || HEX_HASH.test(e.prevHash) ? null : JSON.stringify(e.prevHash);
  const most = 3 * (payloadJson.length + (prevHash?.length ?? 0)) + outlet.length + type.length + actor.length + 128;
  if (most > input.length) input = Buffer.allocUnsafe(2 * most);
  const buf = input;
  buf[0] = 0x5b; // [
  let n = writeInteger(buf, e.v, 1);
  n = writeBytes(buf, outlet, n);
  n = writeInteger(buf, e.seq, n);
  n = writeInteger(buf, e.ts, n);
  n = writeBytes(buf, type, n);
  n = writeBytes(buf, actor, n);
  if (prevHash === null) {
    buf[n++] = 0x22; // "
    n += buf.write(e.prevHash, n, "latin1");
    buf[n++] = 0x22;
  } else n += buf.write(prevHash, n);
  buf[n++] = 0x2c; // ,
  n += buf.write(payloadJson, n);
  buf[n++] = 0x5d; // ]
  lastHash = hash("sha256", buf.subarray(0, n), "hex");
  return lastHash;
}

const HEX_HASH = /^[0-9a-f]{64}$/;
let input = Buffer.allocUnsafe(16 * 1024);
let lastHash = "";

/**
 * The UTF-8 of JSON.stringify(s) for the few strings that recur in every envelope (outlet, type,
 * actor), kept. Bounded: cleared when it grows past any real outlet's.
 */
const quoted = new Map<string, Buffer>();
function quotedBytes(s: string): Buffer {
  let bytes = quoted.get(s);
  if (bytes === undefined) {
    if (quoted.size >= 4_096) quoted.clear();
    bytes = Buffer.from(JSON.stringify(s));
    quoted.set(s, bytes);
  }
  return bytes;
}

/** Writes `bytes` and a comma at `at`; returns the next offset. */
function writeBytes(buf: Buffer, bytes: Buffer, at: number): number {
  buf.set(bytes, at);
  at += bytes.length;
  buf[at] = 0x2c;
  return at + 1;
}

/** Writes the decimal digits of `n` (as `${n}` would) and a comma at `at`; returns the next offset. */
function writeInteger(buf: Buffer, n: number, at: number): number {
  if (!(Number.isSafeInteger(n) && n >= 0)) at += buf.write(`${n}`, at);
  else {
    let digits = 1;
    for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    at += digits;
    for (let i = at, rest = n; i > at - digits; rest = Math.floor(rest / 10)) buf[--i] = 0x30 + (rest % 10);
  }
  buf[at] = 0x2c;
  return at + 1;
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
