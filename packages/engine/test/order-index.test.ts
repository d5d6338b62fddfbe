/**
 * The engine's order index (ids -> live orders, in pages) against a Map on random operations:
 * the same answers to get/has/delete/size, and iteration in id order.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Order } from "../src/book.ts";
import { OrderIndex } from "../src/order-index.ts";

const FC_SEED = Number(process.env.FC_SEED ?? 20_240_601);

const order = (id: number): Order => ({ id }) as Order;

type Op = { kind: "set" | "delete" | "get"; id: number };

describe("OrderIndex", () => {
  it("answers like a Map and iterates in id order", () => {
    // Ids cluster (as the engine's do) but also jump pages, go back, and miss.
    const id = fc.oneof(fc.integer({ min: 1, max: 3_000 }), fc.integer({ min: -5, max: 2 ** 53 - 1 }));
    const op = fc.record({ kind: fc.constantFrom<Op["kind"]>("set", "set", "delete", "get"), id });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const index = new OrderIndex();
        const map = new Map<number, Order>();
        for (const { kind, id } of ops) {
          if (kind === "set" && id > 0 && id < 200_000) {
            const o = order(id);
            index.set(id, o);
            map.set(id, o);
          } else if (kind === "delete") {
            expect(index.delete(id)).toBe(map.delete(id));
          }
          expect(index.get(id)).toBe(map.get(id));
          expect(index.has(id)).toBe(map.has(id));
          expect(index.size).toBe(map.size);
        }
        const sorted = [...map.values()].sort((a, b) => a.id - b.id);
        expect([...index.values()]).toEqual(sorted);
        expect([...index.keys()]).toEqual(sorted.map((o) => o.id));
        expect([...index]).toEqual(sorted.map((o) => [o.id, o]));
      }),
      { seed: FC_SEED, numRuns: 300 },
    );
  });

  it("drops emptied pages but the last, and fills them again", () => {
    const index = new OrderIndex();
    for (let id = 1; id <= 5_000; id++) index.set(id, order(id));
    for (let id = 1; id <= 5_000; id++) expect(index.delete(id)).toBe(true);
    expect(index.size).toBe(0);
    expect([...index.values()]).toEqual([]);
    index.set(7, order(7));
    index.set(4_999, order(4_999));
    expect([...index.keys()]).toEqual([7, 4_999]);
  });
});
