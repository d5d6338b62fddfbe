/**
 * Replay is exact (ARCHITECTURE.md invariant 4): the event log alone rebuilds the state to the
 * byte, and a snapshot taken anywhere, restored from its JSON, carries on exactly like the engine
 * that never stopped — the same events for every later command and the same digest at the end.
 */
import { isDeepStrictEqual } from "node:util";
import { Engine } from "@stockroom/engine";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runStream, type StreamOptions, type StreamStep, streamSeedArbitrary } from "./gen.ts";

const FC_SEED = Number(process.env.FC_SEED ?? 20_240_601);

/** The uninterrupted run: every command's events, and the digest at the end. */
function liveRun(seed: number, options: StreamOptions): { steps: StreamStep[]; digest: string } {
  const engine = new Engine();
  const steps = runStream(seed, options, (command, ts) => engine.execute(command, ts));
  return { steps, digest: engine.digest() };
}

/** Folds logged events into `engine` with their commands' timestamps, as recovery does. */
function fold(engine: Engine, steps: StreamStep[]): Engine {
  for (const { events, ts } of steps) for (const event of events) engine.apply(event, ts);
  return engine;
}

/** A snapshot as it comes back from storage: through JSON. */
function throughJson(engine: Engine): Engine {
  return Engine.restore(JSON.parse(JSON.stringify(engine.snapshot())));
}

/** Executes `steps` on `engine`; the index of the first command whose events differ from the log, or -1. */
function firstDivergence(engine: Engine, steps: StreamStep[]): number {
  return steps.findIndex(({ command, ts, events }) => !isDeepStrictEqual(engine.execute(command, ts), events));
}

describe("replay", () => {
  it("folding the log gives the live engine's digest", () => {
    fc.assert(
      fc.property(streamSeedArbitrary(200), ({ seed, length }) => {
        const { steps, digest } = liveRun(seed, { length });
        expect(fold(new Engine(), steps).digest(), `seed ${seed}, length ${length}`).toBe(digest);
      }),
      { numRuns: 150, seed: FC_SEED },
    );
  });

  it("the same commands give the same events and digest every time", () => {
    fc.assert(
      fc.property(streamSeedArbitrary(200), ({ seed, length }) => {
        const first = liveRun(seed, { length });
        const again = new Engine();
        expect(firstDivergence(again, first.steps), `seed ${seed}`).toBe(-1);
        expect(again.digest()).toBe(first.digest);
      }),
      { numRuns: 50, seed: FC_SEED },
    );
  });

  it("a snapshot restored from JSON continues like the uninterrupted run", () => {
    fc.assert(
      fc.property(streamSeedArbitrary(200), fc.double({ min: 0, max: 1, noNaN: true }), ({ seed, length }, where) => {
        const { steps, digest } = liveRun(seed, { length });
        const cut = Math.floor(where * steps.length);
        const label = `seed ${seed}, length ${length}, snapshot after command #${cut - 1}`;

        const before = new Engine();
        expect(firstDivergence(before, steps.slice(0, cut)), label).toBe(-1);
        const snapshot = before.snapshot();
        expect(JSON.parse(JSON.stringify(snapshot)), `${label}: the snapshot is JSON-safe`).toEqual(snapshot);

        const restored = throughJson(before);
        expect(restored.digest(), `${label}: restoring keeps the digest`).toBe(before.digest());
        const divergence = firstDivergence(restored, steps.slice(cut));
        expect(divergence, `${label}: events differ at command #${cut + divergence}`).toBe(-1);
        expect(restored.digest(), label).toBe(digest);

        // Recovery: the snapshot plus the tail of the log, folded.
        expect(fold(throughJson(before), steps.slice(cut)).digest(), `${label}: snapshot + log tail`).toBe(digest);
      }),
      { numRuns: 150, seed: FC_SEED },
    );
  });

  it("holds over long streams with deep books, snapshotting every 250 commands", () => {
    for (const seed of [11, 12, 13, 14]) {
      const { steps, digest } = liveRun(seed, { length: 2_000, deepBooks: true });
      expect(fold(new Engine(), steps).digest(), `seed ${seed}: fold`).toBe(digest);
      // Hand the state over through a snapshot again and again, as a long-running outlet does.
      let engine = new Engine();
      for (let from = 0; from < steps.length; from += 250) {
        const chunk = steps.slice(from, from + 250);
        const divergence = firstDivergence(engine, chunk);
        expect(divergence, `seed ${seed}: events differ at command #${from + divergence}`).toBe(-1);
        engine = throughJson(engine);
      }
      expect(engine.digest(), `seed ${seed}`).toBe(digest);
    }
  });

  it("the digest changes exactly when the snapshot does", () => {
    const { steps } = liveRun(7, { length: 150 });
    const engine = new Engine();
    let previous = { json: JSON.stringify(engine.snapshot()), digest: engine.digest() };
    let changes = 0;
    for (const { events, ts } of steps) {
      for (const event of events) engine.apply(event, ts);
      const current = { json: JSON.stringify(engine.snapshot()), digest: engine.digest() };
      expect(current.digest === previous.digest).toBe(current.json === previous.json);
      if (current.json !== previous.json) changes += 1;
      previous = current;
    }
    expect(changes).toBeGreaterThan(50);
  });
});
