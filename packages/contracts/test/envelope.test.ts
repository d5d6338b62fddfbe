import { hash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GENESIS_HASH, hashEnvelope, type UnsealedEnvelope } from "../src/envelope.ts";

/** The definition hashEnvelope writes out by hand: sha256 of this array's JSON. */
function reference(e: UnsealedEnvelope, payloadJson: string): string {
  const fields = [e.v, e.outletId, e.seq, e.ts, e.type, e.actor, e.prevHash];
  return hash("sha256", `${JSON.stringify(fields).slice(0, -1)},${payloadJson}]`, "hex");
}

const envelope = fc.record({
  outletId: fc.string({ unit: "binary", maxLength: 20 }),
  seq: fc.oneof(fc.nat(), fc.maxSafeNat()),
  ts: fc.oneof(fc.nat(), fc.constant(1_763_900_000_000)),
  type: fc.string({ maxLength: 20 }),
  actor: fc.string({ unit: "binary", maxLength: 20 }),
  prevHash: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.string({ unit: "binary", maxLength: 70 })),
  payload: fc.jsonValue(),
});

describe("hashEnvelope", () => {
  it("equals sha256 of the fields' JSON for any strings, integers and payloads", () => {
    fc.assert(
      fc.property(envelope, ({ payload, ...fields }) => {
        const e = { v: 1 as const, ...fields, payload } as unknown as UnsealedEnvelope;
        const json = JSON.stringify(payload) ?? "null";
        expect(hashEnvelope(e, json)).toBe(reference(e, json));
      }),
      { numRuns: 2_000 },
    );
  });

  it("hashes a chain, a payload larger than its buffer and non-ASCII text the same way", () => {
    let prevHash = GENESIS_HASH;
    const payloads = [
      "{}",
      JSON.stringify({ name: "Café 東京 😀" }),
      JSON.stringify({ big: "x".repeat(200_000) }),
      "{}",
    ];
    for (const [i, json] of payloads.entries()) {
      const e = {
        v: 1 as const,
        outletId: "outlet-1",
        seq: i + 1,
        ts: 1_700_000_000_000,
        type: "t",
        actor: "kiosk-1",
        prevHash,
        payload: JSON.parse(json),
      };
      const sealed = hashEnvelope(e, json);
      expect(sealed).toBe(reference(e, json));
      prevHash = sealed;
    }
  });
});
