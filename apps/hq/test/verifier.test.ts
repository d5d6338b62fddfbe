import type { EventEnvelope } from "@stockroom/contracts";
import { afterEach, describe, expect, it } from "vitest";
import { type Ticket, Verifier } from "../src/ingest/verifier.ts";
import { SimOutlet, Workload } from "./support/publisher.ts";

const encode = (envelopes: EventEnvelope[]) => new TextEncoder().encode(JSON.stringify(envelopes));

async function answered(ticket: Ticket): Promise<number> {
  for (let i = 0; i < 500 && ticket.bad === undefined; i++) await new Promise((r) => setTimeout(r, 10));
  if (ticket.bad === undefined) throw new Error(`ticket ${ticket.id} was not answered`);
  return ticket.bad;
}

let verifier: Verifier | null = null;
afterEach(async () => {
  await verifier?.close();
  verifier = null;
});

describe("the verifier thread", () => {
  const outlet = new SimOutlet("v1");
  const envelopes = [...new Workload(outlet, 3).setup(), ...new Workload(outlet, 4).run(200)];

  it("answers -1 for a message whose hashes all match, else the index of the first that does not", async () => {
    verifier = new Verifier();
    const forged = envelopes.map((e, i) => (i === 7 ? { ...e, actor: "someone-else" } : e));
    const good = verifier.submit(encode(envelopes));
    const bad = verifier.submit(encode(forged));
    const garbage = verifier.submit(new TextEncoder().encode("not json"));
    expect(await answered(good)).toBe(-1);
    expect(await answered(bad)).toBe(7);
    expect(await answered(garbage)).toBe(0);
  });

  it("skips the messages the main thread took unchecked (it checks those itself)", async () => {
    verifier = new Verifier();
    const taken = Array.from({ length: 5 }, () => verifier!.submit(encode(envelopes)));
    verifier.take(taken.at(-1)!); // before any answer can arrive: none of them is answered after this
    const later = verifier.submit(encode(envelopes));
    expect(await answered(later)).toBe(-1);
    expect(taken.map((t) => t.bad)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});
