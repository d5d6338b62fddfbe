// An event's hash, in plain JavaScript so worker threads that do not load the TypeScript
// workspace (the outlet's committer) hash with the very code the contract does (envelope.ts).
import { hash } from "node:crypto";

/** The envelope's `v`. */
export const SCHEMA_VERSION = 1;

const HEX_HASH = /^[0-9a-f]{64}$/;
let input = Buffer.allocUnsafe(16 * 1024);
let lastHash = "";

/**
 * sha256 over the bytes of JSON.stringify([v, outletId, seq, ts, type, actor, prevHash, payload]),
 * the payload given as its JSON text, written into one reused buffer: every event is hashed, and
 * building this text as a string cost a kilobyte of garbage per event (and more time than these writes).
 */
export function hashEvent(v, outletId, seq, ts, type, actor, prevHash, payloadJson) {
  const outlet = quotedBytes(outletId);
  const typeBytes = quotedBytes(type);
  const actorBytes = quotedBytes(actor);
  // In a chain, prevHash is the hash this returned last: hex, so written as it is.
  const prev = prevHash === lastHash || HEX_HASH.test(prevHash) ? null : JSON.stringify(prevHash);
  const most =
    3 * (payloadJson.length + (prev?.length ?? 0)) + outlet.length + typeBytes.length + actorBytes.length + 128;
  if (most > input.length) input = Buffer.allocUnsafe(2 * most);
  const buf = input;
  buf[0] = 0x5b; // [
  let n = writeInteger(buf, v, 1);
  n = writeBytes(buf, outlet, n);
  n = writeInteger(buf, seq, n);
  n = writeInteger(buf, ts, n);
  n = writeBytes(buf, typeBytes, n);
  n = writeBytes(buf, actorBytes, n);
  if (prev === null) {
    buf[n++] = 0x22; // "
    n += buf.write(prevHash, n, "latin1");
    buf[n++] = 0x22;
  } else n += buf.write(prev, n);
  buf[n++] = 0x2c; // ,
  n += buf.write(payloadJson, n);
  buf[n++] = 0x5d; // ]
  lastHash = hash("sha256", buf.subarray(0, n), "hex");
  return lastHash;
}

/**
 * The UTF-8 of JSON.stringify(s) for the few strings that recur in every envelope (outlet, type,
 * actor), kept. Bounded: cleared when it grows past any real outlet's.
 */
const quoted = new Map();
function quotedBytes(s) {
  let bytes = quoted.get(s);
  if (bytes === undefined) {
    if (quoted.size >= 4_096) quoted.clear();
    bytes = Buffer.from(JSON.stringify(s));
    quoted.set(s, bytes);
  }
  return bytes;
}

/** Writes `bytes` and a comma at `at`; returns the next offset. */
function writeBytes(buf, bytes, at) {
  buf.set(bytes, at);
  at += bytes.length;
  buf[at] = 0x2c;
  return at + 1;
}

/** Writes the decimal digits of `n` (as `${n}` would) and a comma at `at`; returns the next offset. */
function writeInteger(buf, n, at) {
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
